#!/usr/bin/env node
// Contract v1 conformance checker: npm run check-app -- --url http://app:8000 --token TOKEN
// Tells, point by point, whether an app meets docs/contract-v1.md. Exit 0 only when every check passes.
// Plain Node (no dependencies) so it also runs inside the orchestrator's image.
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseArgs } from 'node:util';

const USAGE = `usage: npm run check-app -- --url URL --token TOKEN [options]

Checks an app against backup contract v1 (docs/contract-v1.md), point by point, and exits with 0 when
every check passes, 1 when one fails, 2 when the options are wrong.

  --url URL               the app's base URL, as it is registered (a path prefix is kept)
  --token TOKEN           the bearer token registered for the app
  --timeout-s N           seconds the app has to answer capabilities (default 30)
  --idle-timeout-s N      longest pause allowed in the export, like BACKUP_IDLE_TIMEOUT_S (default 300)
  --restore-round-trip    also check POST /backup/import, by sending the app its export back.
                          WARNING: this REPLACES THE APP'S LIVE DATA with that export, and every write
                          made to the app in between is lost. Use it on a test instance.
                          Without it, nothing is ever sent to /backup/import and nothing of the export
                          is kept; with it, the export is kept in memory (never on disk) until sent back.
  --round-trip-max-mb N   the largest export the round trip keeps in memory, in MiB (default 256)
  -h, --help              print this help
`;

function parseOptions() {
  try {
    const { values } = parseArgs({
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        'timeout-s': { type: 'string', default: '30' },
        'idle-timeout-s': { type: 'string', default: '300' },
        'restore-round-trip': { type: 'boolean', default: false },
        'round-trip-max-mb': { type: 'string', default: '256' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    if (!values.url || !values.token) throw new Error('--url and --token are required');
    for (const name of ['timeout-s', 'idle-timeout-s', 'round-trip-max-mb']) {
      if (!(Number(values[name]) > 0)) throw new Error(`--${name} must be a number above 0, not "${values[name]}"`);
    }
    if (!URL.canParse(values.url)) throw new Error(`--url is not a URL: "${values.url}"`);
    return values;
  } catch (error) {
    // parseArgs names the unknown option or stray argument; the usage says what is known.
    process.stderr.write(`check-app: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
}

const options = parseOptions();
const token = options.token;
const timeoutMs = Number(options['timeout-s']) * 1000;
const idleMs = Number(options['idle-timeout-s']) * 1000;
const EXTENSION = /^[A-Za-z0-9]{1,16}(?:\.(?:gz|zst|xz|bz2|lz4|br|age|gpg))?$/;
const EXPORT_REQUEST = JSON.stringify({ version: 'v1' });
/** How long the round trip's import waits out a 409 from an app still finishing the export. */
const BUSY_WAIT_MS = 5000;

/** The contract path under the app's URL, as the orchestrator builds it: prefix and query kept, fragment dropped. */
function urlOf(path) {
  const url = new URL(options.url);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  url.hash = '';
  return url.toString();
}

const results = [];
const failures = () => results.filter((ok) => !ok).length;
function report(ok, title, detail) {
  results.push(ok);
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${title}${detail ? ` — ${detail}` : ''}`);
}

async function call(method, path, auth, { body, signal, headers: extra } = {}) {
  const headers = { Accept: 'application/json, application/octet-stream', 'Accept-Encoding': 'identity', ...extra };
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (typeof body === 'string') headers['Content-Type'] = 'application/json';
  // duplex: a streamed body (the round trip's import) starts before the answer, as in the orchestrator.
  return fetch(urlOf(path), { method, headers, body, duplex: 'half', redirect: 'manual', signal: signal ?? AbortSignal.timeout(timeoutMs) });
}

/**
 * The export goes through node:http rather than fetch: fetch does not show HTTP trailers, and an app may send its
 * X-Backup-Sha256 as one after the body. Asked with `TE: trailers`, as the orchestrator asks.
 * @returns {Promise<import('node:http').IncomingMessage>}
 */
function stream(method, path, { body, signal }) {
  const url = new URL(urlOf(path));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(url, {
      method,
      signal,
      headers: {
        Accept: 'application/json, application/octet-stream',
        'Accept-Encoding': 'identity',
        Authorization: `Bearer ${token}`,
        TE: 'trailers',
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
      },
    });
    request.once('response', resolve).once('error', reject);
    request.end(body);
  });
}

async function refusesWithout(method, path, body) {
  for (const [label, auth] of [['no token', undefined], ['a wrong token', `${token}-wrong`]]) {
    try {
      const response = await call(method, path, auth, { body });
      await response.body?.cancel();
      report([401, 403].includes(response.status), `${method} ${path} refuses ${label}`, `answered ${response.status}, expected 401 or 403`);
    } catch (error) {
      report(false, `${method} ${path} refuses ${label}`, describe(error));
    }
  }
}

function describe(error) {
  if (error?.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  const code = error?.cause?.code ?? error?.code;
  // The same trust as the orchestrator's: Node's CA list plus NODE_EXTRA_CA_CERTS.
  if (/^(?:UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT)/.test(code ?? '')) {
    return `TLS certificate not trusted (${code}); for a private CA, run with NODE_EXTRA_CA_CERTS=<its PEM file>, as for app-orquestador`;
  }
  return `request failed: ${code ?? error?.cause?.message ?? error?.message}`;
}

/** Aborts `controller` after `idleMs` without a call to refresh(): the same stall rule as BACKUP_IDLE_TIMEOUT_S. */
function idleTimer(controller) {
  return setTimeout(() => controller.abort(new Error(`no byte for ${idleMs / 1000} s`)), idleMs);
}

/** @returns {Promise<{ restore: boolean } | undefined>} the capabilities, when they offer v1 */
async function checkCapabilities() {
  const started = Date.now();
  let response;
  try {
    response = await call('GET', '/backup/capabilities', token);
  } catch (error) {
    report(false, 'GET /backup/capabilities answers with the token', describe(error));
    return undefined;
  }
  report(response.status === 200, 'GET /backup/capabilities answers 200 with the token', `answered ${response.status} in ${Date.now() - started} ms`);
  if (response.status !== 200) return undefined;
  let body;
  try {
    body = await response.json();
  } catch {
    report(false, 'capabilities are JSON', 'the body is not valid JSON');
    return undefined;
  }
  const versions = Array.isArray(body.versions) ? body.versions : typeof body.version === 'string' ? [body.version] : [];
  report(versions.includes('v1'), 'capabilities offer contract v1', `versions: ${JSON.stringify(versions)}`);
  report(body.type === undefined || typeof body.type === 'string', 'capabilities "type" is text when present', `type: ${JSON.stringify(body.type)}`);
  report(body.extension === undefined || (typeof body.extension === 'string' && EXTENSION.test(body.extension)),
    'capabilities "extension" is a valid file extension when present', `extension: ${JSON.stringify(body.extension)}`);
  if (body.app !== undefined) {
    const app = body.app;
    const fields = typeof app === 'object' && app !== null && !Array.isArray(app)
      ? ['name', 'version', 'schemaVersion'].filter((field) => app[field] !== undefined) : [];
    const textual = fields.every((field) => typeof app[field] === 'string' && app[field].length > 0 && app[field].length <= 64);
    report(fields.length > 0 && textual, 'capabilities "app" has name, version or schemaVersion as text of 1 to 64 characters',
      `app: ${JSON.stringify(app).slice(0, 200)}`);
  } else console.log('INFO  no "app" in capabilities: with {name, version, schemaVersion}, every backup records the version it was made with');
  return versions.includes('v1') ? { restore: body.restore === true } : undefined;
}

/** GET /backup/selftest, optional: only a drill instance needs it. Read only, so it is always safe to ask. */
async function checkSelftest() {
  let response;
  try {
    response = await call('GET', '/backup/selftest', token);
  } catch (error) {
    return report(false, 'GET /backup/selftest answers', describe(error));
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return console.log('INFO  no GET /backup/selftest (404): an instance of this app cannot be used for restore drills');
  }
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const checks = body?.checks;
  const shaped = typeof body?.ok === 'boolean' && (checks === undefined || (Array.isArray(checks) && checks.every((check) => typeof check?.name === 'string' && typeof check?.ok === 'boolean')));
  report(response.status === 200 && shaped, 'GET /backup/selftest answers 200 with {ok, checks: [{name, ok, detail}]}',
    `answered ${response.status}: ${JSON.stringify(body)?.slice(0, 200)}`);
  await refusesWithout('GET', '/backup/selftest');
}

/**
 * Streams the export through a hash and counts it. Nothing of it is kept, except for the round trip: then
 * it is kept in memory (never on disk) up to `keepBytes`.
 * @returns {Promise<{ bytes: number, sha256: string, chunks?: Uint8Array[] } | undefined>} what arrived, when the body was complete
 */
async function checkExport(keepBytes) {
  const controller = new AbortController();
  const idle = idleTimer(controller);
  const started = Date.now();
  try {
    const response = await stream('POST', '/backup/export', { body: EXPORT_REQUEST, signal: controller.signal });
    const firstResponseMs = Date.now() - started;
    report(response.statusCode === 200, 'POST /backup/export answers 200', `answered ${response.statusCode} after ${firstResponseMs} ms`);
    if (response.statusCode !== 200) return void response.destroy();
    const header = (name) => response.headers[name] ?? null;
    report(!header('content-encoding'), 'export body is not Content-Encoded', header('content-encoding') ?? 'none');
    const announcedLength = header('content-length');
    const announcedSha = header('x-backup-sha256');
    const trailerAnnounced = String(header('trailer') ?? '').split(',').some((field) => field.trim().toLowerCase() === 'x-backup-sha256');
    const framing = announcedLength !== null ? 'Content-Length' : header('transfer-encoding') ?? 'none: ends when the connection closes';
    report(announcedLength !== null || /\bchunked\b/i.test(framing), 'export body has Content-Length or chunked Transfer-Encoding', framing);
    if (announcedSha !== null) report(/^[a-f0-9]{64}$/i.test(announcedSha), 'X-Backup-Sha256 is 64 hex digits', announcedSha);
    // Trailers travel only after a chunked body: with Content-Length they are dropped on the way.
    if (trailerAnnounced) report(announcedLength === null, 'a body with an X-Backup-Sha256 trailer is chunked (no Content-Length)', framing);
    const hash = createHash('sha256');
    let bytes = 0;
    let chunks = 0;
    let kept = keepBytes > 0 ? [] : undefined;
    let longestPauseMs = 0;
    let last = Date.now();
    for await (const chunk of response) {
      const now = Date.now();
      longestPauseMs = Math.max(longestPauseMs, now - last);
      last = now;
      idle.refresh();
      hash.update(chunk);
      bytes += chunk.length;
      chunks++;
      kept?.push(chunk);
      if (bytes > keepBytes) kept = undefined;
    }
    const seconds = (Date.now() - started) / 1000;
    report(bytes > 0, 'export streams a non-empty body', `${bytes} bytes in ${chunks} chunks, ${seconds.toFixed(1)} s, ${(bytes / 1048576 / seconds).toFixed(1)} MiB/s`);
    if (announcedLength !== null) report(Number(announcedLength) === bytes, 'byte count matches Content-Length', `received ${bytes}, announced ${announcedLength}`);
    else console.log('INFO  no Content-Length: sending it lets the orchestrator check the size and upload faster');
    // A connection cut before the last chunk ends the loop too in some Node versions: only a complete message counts.
    if (!response.complete) throw new Error('the body ended before its last chunk');
    const sha256 = hash.digest('hex');
    if (announcedSha !== null) report(announcedSha.toLowerCase() === sha256, 'SHA-256 matches X-Backup-Sha256', `received ${sha256}`);
    if (trailerAnnounced) {
      const trailer = response.trailers['x-backup-sha256'];
      report(trailer !== undefined, 'the announced X-Backup-Sha256 trailer arrives after the body', trailer === undefined ? 'announced in Trailer, never sent' : trailer);
      if (trailer !== undefined) {
        report(/^[a-f0-9]{64}$/i.test(trailer), 'X-Backup-Sha256 trailer is 64 hex digits', trailer);
        report(trailer.toLowerCase() === sha256, 'SHA-256 matches the X-Backup-Sha256 trailer', `received ${sha256}`);
        if (announcedSha !== null) report(announcedSha.toLowerCase() === trailer.toLowerCase(), 'X-Backup-Sha256 header and trailer agree', `header ${announcedSha}, trailer ${trailer}`);
      }
    }
    if (announcedSha === null && !trailerAnnounced) {
      console.log('INFO  no X-Backup-Sha256 (header or trailer): sending it lets the orchestrator verify the backup end to end');
    }
    report(longestPauseMs < idleMs, `no pause longer than ${idleMs / 1000} s (BACKUP_IDLE_TIMEOUT_S)`, `longest pause ${longestPauseMs} ms`);
    return { bytes, sha256, chunks: kept };
  } catch (error) {
    report(false, 'export body arrives complete', controller.signal.aborted ? String(controller.signal.reason.message) : describe(error));
    return undefined;
  } finally {
    clearTimeout(idle);
  }
}

/**
 * The round trip: the export, kept in memory, sent back to the import as the orchestrator sends a restore,
 * with its Content-Length and SHA-256. It cannot be streamed from a second export instead: an app that
 * serialises its exports and imports (the contract's advice) answers 409 to an import while that export runs.
 */
async function checkImport(exported) {
  await refusesWithout('POST', '/backup/import', 'not a backup');
  const title = 'POST /backup/import accepts its own export (round trip)';
  if (!exported.chunks) {
    return report(false, title, `not checked: the export (${mib(exported.bytes)} MiB) is larger than --round-trip-max-mb ${options['round-trip-max-mb']}`);
  }
  const started = Date.now();
  try {
    const send = () => call('POST', '/backup/import', token, {
      body: ReadableStream.from(exported.chunks),
      signal: AbortSignal.timeout(idleMs),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(exported.bytes), 'X-Backup-Sha256': exported.sha256 },
    });
    let response = await send();
    // The app may still be finishing the export (its clean-up runs after the last byte left): busy for a moment.
    for (let waited = 0; response.status === 409 && waited < BUSY_WAIT_MS; waited += 250) {
      await response.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 250));
      response = await send();
    }
    const text = (await response.text()).slice(0, 200);
    report([200, 204].includes(response.status), title, `answered ${response.status} after ${Date.now() - started} ms${text ? `: ${text}` : ''}`);
  } catch (error) {
    report(false, title, describe(error));
  }
}

const mib = (bytes) => (bytes / 1048576).toFixed(1);

console.log(`Checking ${options.url} against backup contract v1\n`);
if (options['restore-round-trip']) {
  console.log('WARNING  --restore-round-trip: if the app announces restore, its live data is REPLACED by the export taken now; ' +
    'writes made in between are lost\n');
}
await refusesWithout('GET', '/backup/capabilities');
await refusesWithout('POST', '/backup/export', EXPORT_REQUEST);
const capabilities = await checkCapabilities();
if (capabilities) await checkSelftest();
if (capabilities) {
  const failedBefore = failures();
  const exported = await checkExport(options['restore-round-trip'] && capabilities.restore ? Number(options['round-trip-max-mb']) * 1048576 : 0);
  if (!capabilities.restore) console.log('INFO  restore not announced: POST /backup/import is not checked');
  else if (!options['restore-round-trip']) {
    console.log('INFO  restore announced, but POST /backup/import is not checked: it would replace the app\'s data; ' +
      '--restore-round-trip checks it (on a test instance)');
  } else if (!exported || failures() > failedBefore) {
    // The orchestrator never stores such an export, so it never sends one back either.
    console.log('INFO  restore announced, but the round trip is skipped: the export failed a check');
  } else {
    console.log('INFO  restore announced: sending the export back to the app (round trip)');
    await checkImport(exported);
  }
}
const failed = failures();
console.log(`\n${results.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
