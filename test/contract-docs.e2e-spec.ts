import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The integrator's questions of #17 (point 18), each answered where an integrator reads; the behaviour
// behind each answer is tested in contract-requests, contract-https, kit-python and integrator-kit.

const contract = readFileSync('docs/contract-v1.md', 'utf8');
const readme = readFileSync('README.md', 'utf8');

describe('docs/contract-v1.md answers an integrator', () => {
  it.each([
    ['failing after the headers', ['panic(http.ErrAbortHandler)', 'response.destroy(error)', 'close the socket', 'last (zero-length) chunk']],
    ['the token', ['created by whoever runs the app', 'visible ASCII characters (0x21–0x7E)', 'openssl rand -hex 32']],
    ['the version in the export request', ['{"version":"v1"}', 'answer anything but `v1` with `400`']],
    ['upper-case hex', ['**upper or lower case**']],
    ['import bodies and timeouts', ['**Always a `Content-Length`**', '**never a chunked body**', 'discard what it received', 'answer within `BACKUP_IDLE_TIMEOUT_S` of the last byte']],
    ['HTTPS', ['NODE_EXTRA_CA_CERTS', 'the certificate must chain to a certificate authority', 'not in `.env`']],
    ['URLs', ['with or without a trailing slash', 'a query string is kept']],
    ['headers', ['`User-Agent` | `app-orquestador/<version>`', '`X-Backup-Run-Id`']],
    ['capabilities', ['Fields the orchestrator does not know are ignored', 'An invalid `extension`']],
    ['busy', ['**409 or 503?**', '`Retry-After` is not read']],
    ['examples', ['examples/python-app', 'examples/sqlite-app', '## Try it with curl']],
    ['the optional parts of #18', ['`TE` | `trailers`', 'Trailer: X-Backup-Sha256', 'response.addTrailers', 'by hand', '`header`, `trailer`, `header and trailer`, or `none`',
      '"schemaVersion": "2026_11_01"', 'compared *naturally*', '"force": true', '## 4. `GET {url}/backup/selftest`', 'The production `url` is never\ncontacted by a drill']],
  ])('%s', (_topic, phrases) => {
    for (const phrase of phrases) expect(contract, phrase).toContain(phrase);
  });
});

describe('README, check-app section', () => {
  const section = readme.slice(readme.indexOf('## For integrators'), readme.indexOf('## Benchmark'));

  it('says the round trip is opt-in, what it replaces, and that no copy is kept', () => {
    for (const phrase of ['--restore-round-trip', '**replaces the app\'s live data**', 'keeps no copy of the export in a file', '**in memory** (never on disk)', '--round-trip-max-mb', '--help', 'examples/python-app']) {
      expect(section, phrase).toContain(phrase);
    }
  });
});
