import { mkdtempSync, readdirSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { registerApp, runBackup, waitForRunEnd } from './support/backups';
import { bootOrchestrator } from './support/orchestrator';
import { run, servicePort, start, waitForHttp } from './support/processes';

const CHECK_APP = join(process.cwd(), 'scripts/check-app.mjs');
const checkApp = (url: string, token: string, ...extra: string[]) => run(process.execPath, [CHECK_APP, '--url', url, '--token', token, ...extra]);

describe('conformance checker (npm run check-app)', () => {
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  beforeAll(async () => {
    contract = await startContractApp({ token: 'right' });
  });
  afterAll(() => contract.close());

  it('passes a conforming app point by point, with and without length and checksum', async () => {
    for (const announce of [{ length: true, checksum: true }, { length: false, checksum: false }]) {
      contract.setMode({ size: 2 * 1024 * 1024, ...announce });
      const { code, output } = await checkApp(contract.url, 'right');
      expect(output).not.toContain('FAIL');
      expect(output).toMatch(/\n\d+ passed, 0 failed\n/);
      expect(code).toBe(0);
    }
  });

  it.each([
    ['no-auth', 'GET /backup/capabilities refuses no token — answered 200'],
    ['unauthorized', 'GET /backup/capabilities answers 200 with the token — answered 401'],
    ['v2-only', 'capabilities offer contract v1 — versions: ["v2"]'],
    ['wrong-checksum', 'SHA-256 matches X-Backup-Sha256'],
    ['abort-mid-stream', 'export body arrives complete'],
    ['fail', 'POST /backup/export answers 200 — answered 500'],
    ['redirect', 'POST /backup/export answers 200 — answered 302'],
    ['import-422', 'POST /backup/import accepts its own export (round trip) — answered 422'],
  ])('fails an app in mode %s and says which point', async (behaviour, point) => {
    contract.setMode({ size: 1024 * 1024, length: true, checksum: true, behaviour });
    const { code, output } = await checkApp(contract.url, 'right', '--restore-round-trip');
    expect(output).toContain(`FAIL  ${point}`);
    expect(code).toBe(1);
  });

  it('checks an X-Backup-Sha256 trailer, asked for with TE: trailers, alone or beside the header (#18)', async () => {
    for (const announce of [{ checksum: false }, { checksum: true }]) {
      contract.setMode({ size: 2 * 1024 * 1024, length: false, trailer: true, ...announce });
      const { code, output } = await checkApp(contract.url, 'right');
      expect(output).toContain('PASS  SHA-256 matches the X-Backup-Sha256 trailer');
      expect(output).not.toContain('FAIL');
      expect(code).toBe(0);
    }
    const exportRequest = contract.requests.lastIndexOf('POST /backup/export');
    expect(contract.headers[exportRequest].te).toBe('trailers');
  });

  it.each([
    [{ trailer: 'wrong', checksum: false }, 'SHA-256 matches the X-Backup-Sha256 trailer'],
    [{ trailer: 'announced-only', checksum: false }, 'the announced X-Backup-Sha256 trailer arrives after the body — announced in Trailer, never sent'],
    [{ trailer: 'wrong', checksum: true }, 'X-Backup-Sha256 header and trailer agree'],
  ])('fails a bad trailer (%o) and says which point', async (mode, point) => {
    contract.setMode({ size: 1024 * 1024, length: false, ...mode });
    const { code, output } = await checkApp(contract.url, 'right');
    expect(output).toContain(`FAIL  ${point}`);
    expect(code).toBe(1);
  });

  it('checks "app" in capabilities and an optional selftest (#18)', async () => {
    contract.setMode({ size: 1024, length: true, checksum: true, trailer: false, app: { name: 'notes', version: '1.2.0', schemaVersion: '7' } });
    let { code, output } = await checkApp(contract.url, 'right');
    expect(output).toContain('PASS  capabilities "app" has name, version or schemaVersion as text of 1 to 64 characters');
    expect(output).toContain('PASS  GET /backup/selftest answers 200 with {ok, checks: [{name, ok, detail}]}');
    expect(output).toContain('PASS  GET /backup/selftest refuses no token');
    expect(code).toBe(0);
    contract.setMode({ app: ['4.2'], behaviour: 'selftest-garbage' });
    ({ code, output } = await checkApp(contract.url, 'right'));
    expect(output).toContain('FAIL  capabilities "app" has name, version or schemaVersion');
    expect(output).toContain('FAIL  GET /backup/selftest answers 200 with {ok, checks');
    expect(code).toBe(1);
    contract.setMode({ app: undefined });
  });

  it('fails an export whose body only ends when the connection closes', async () => {
    contract.setMode({ size: 1024 * 1024, length: false, checksum: false, framing: 'close' });
    const { code, output } = await checkApp(contract.url, 'right');
    expect(output).toContain('FAIL  export body has Content-Length or chunked Transfer-Encoding — none: ends when the connection closes');
    expect(code).toBe(1);
    contract.setMode({ framing: 'chunked' });
  });

  it('fails a stalled export after the idle timeout it is given', async () => {
    contract.setMode({ size: 1024 * 1024, behaviour: 'stall-mid-stream' });
    const { code, output } = await checkApp(contract.url, 'right', '--idle-timeout-s', '1');
    expect(output).toContain('FAIL  export body arrives complete — no byte for 1 s');
    expect(code).toBe(1);
  });
});

describe('check-app: options and the opt-in round trip (#17)', () => {
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  beforeAll(async () => {
    contract = await startContractApp({ token: 'right' });
  });
  afterAll(() => contract.close());
  const imports = () => contract.requests.filter((line) => line === 'POST /backup/import').length;

  it('--help prints the usage, with the round trip and its warning, and exits 0', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, output } = await run(process.execPath, [CHECK_APP, flag]);
      expect(output).toContain('usage: npm run check-app -- --url URL --token TOKEN');
      expect(output).toMatch(/--restore-round-trip[\s\S]*WARNING: this REPLACES THE APP'S LIVE DATA/);
      expect(output).not.toContain('ERR_PARSE_ARGS');
      expect(code).toBe(0);
    }
  });

  it.each([
    [['--url', 'http://127.0.0.1:9', '--token', 't', '--bogus'], "check-app: Unknown option '--bogus'"],
    [['--url', 'http://127.0.0.1:9'], 'check-app: --url and --token are required'],
    [['--url', 'not a url', '--token', 't'], 'check-app: --url is not a URL: "not a url"'],
    [['--url', 'http://127.0.0.1:9', '--token', 't', '--idle-timeout-s', 'soon'], 'check-app: --idle-timeout-s must be a number above 0, not "soon"'],
  ])('a wrong command line %j is a usage error (exit 2) that says why', async (args, message) => {
    const { code, output } = await run(process.execPath, [CHECK_APP, ...args]);
    expect(output).toContain(message);
    expect(output).toContain('usage: npm run check-app');
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
    expect(code).toBe(2);
  });

  it('without --restore-round-trip sends nothing to /backup/import, and says that it did not check it', async () => {
    contract.setMode({ size: 1024 * 1024, length: true, checksum: true });
    const before = imports();
    const { code, output } = await checkApp(contract.url, 'right');
    expect(output).toContain('INFO  restore announced, but POST /backup/import is not checked');
    expect(output).toContain('--restore-round-trip');
    expect(output).not.toContain('WARNING');
    expect(imports()).toBe(before);
    expect(code).toBe(0);
  });

  it('with --restore-round-trip warns, then sends the export back with its size and SHA-256', async () => {
    contract.setMode({ size: 3 * 1024 * 1024 + 17, length: false, checksum: false });
    contract.imports.length = 0;
    const exportsBefore = contract.exports.length;
    const { code, output } = await checkApp(contract.url, 'right', '--restore-round-trip');
    expect(output).toMatch(/WARNING {2}--restore-round-trip: .*live data is REPLACED/);
    expect(output).toContain('PASS  POST /backup/import accepts its own export (round trip) — answered 204');
    expect(code).toBe(0);
    expect(contract.exports.length - exportsBefore).toBe(1);
    const sent = contract.exports.at(-1)!;
    expect(contract.imports).toEqual([{ bytes: sent.bytes, sha256: sent.sha256, complete: true, announcedSha256: sent.sha256 }]);
  });

  it.each(['wrong-checksum', 'short-body'])('sends nothing to the import after an export that failed a check (%s)', async (behaviour) => {
    contract.setMode({ size: 1024 * 1024, length: true, checksum: true, behaviour });
    contract.imports.length = 0;
    const { code, output } = await checkApp(contract.url, 'right', '--restore-round-trip');
    expect(output).toContain('INFO  restore announced, but the round trip is skipped: the export failed a check');
    expect(code).toBe(1);
    expect(contract.imports).toEqual([]);
  });

  it('waits out an app still busy for a moment after its export (409), then imports once', async () => {
    contract.setMode({ size: 1024 * 1024, length: true, checksum: true, behaviour: 'import-busy-once' });
    contract.imports.length = 0;
    const { code, output } = await checkApp(contract.url, 'right', '--restore-round-trip');
    expect(output).toContain('PASS  POST /backup/import accepts its own export (round trip) — answered 204');
    expect(code).toBe(0);
    expect(contract.imports).toMatchObject([{ complete: true, bytes: 1024 * 1024 }]);
  });

  it('keeps at most --round-trip-max-mb of the export, and fails the round trip it could not check', async () => {
    contract.setMode({ size: 2 * 1024 * 1024, length: true, checksum: true });
    contract.imports.length = 0;
    const { code, output } = await checkApp(contract.url, 'right', '--restore-round-trip', '--round-trip-max-mb', '1');
    expect(output).toContain('PASS  SHA-256 matches X-Backup-Sha256');
    expect(output).toContain('FAIL  POST /backup/import accepts its own export (round trip) — not checked: the export (2.0 MiB) is larger than --round-trip-max-mb 1');
    expect(code).toBe(1);
    expect(contract.imports).toEqual([]);
  });

  it('keeps no copy of the export in a file, in the temporary folder or under its working folder, even for the round trip', async () => {
    contract.setMode({ size: 16 * 1024 * 1024, length: true, checksum: true });
    const tmp = mkdtempSync(join(tmpdir(), 'check-app-tmp-'));
    const cwd = mkdtempSync(join(tmpdir(), 'check-app-cwd-'));
    const created: string[] = [];
    const watchers = [tmp, cwd].map((dir) => watch(dir, { recursive: true }, (_event, name) => created.push(`${dir}/${name}`)));
    try {
      const { code, output } = await run(process.execPath, [CHECK_APP, '--url', contract.url, '--token', 'right', '--restore-round-trip'], {
        cwd,
        env: { ...process.env, TMPDIR: tmp, TMP: tmp, TEMP: tmp },
      });
      expect(output).toContain('PASS  POST /backup/import accepts its own export (round trip)');
      expect(code).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 100)); // late events
      expect(created).toEqual([]);
      expect([...readdirSync(tmp), ...readdirSync(cwd)]).toEqual([]);
    } finally {
      watchers.forEach((watcher) => watcher.close());
      rmSync(tmp, { recursive: true, force: true });
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('example app (examples/sqlite-app)', () => {
  it('meets contract v1 and its backup is a working SQLite database', async () => {
    const port = await servicePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'notes-app-'));
    const app = start(process.execPath, ['examples/sqlite-app/server.mjs'], {
      env: { PATH: process.env.PATH, PORT: String(port), BACKUP_TOKEN: 'demo-token', DATA_DIR: dataDir },
    });
    const orchestrator = await bootOrchestrator();
    try {
      await waitForHttp(`http://127.0.0.1:${port}/notes`);
      const check = await checkApp(`http://127.0.0.1:${port}`, 'demo-token', '--restore-round-trip');
      expect(check.output).not.toContain('FAIL');
      expect(check.output).toContain('PASS  POST /backup/import accepts its own export (round trip)');
      expect(check.code).toBe(0);

      const registered = await registerApp(orchestrator, { name: 'notes', url: `http://127.0.0.1:${port}`, token: 'demo-token', driveFolderId: 'notes' });
      const backup = await runBackup(orchestrator, registered.id);
      expect(backup.status).toBe('succeeded');
      expect(backup.remotePath).toMatch(/notes-\d{8}T\d{6}Z\.db$/);
      const stored = new Database(backup.remotePath!, { readonly: true });
      expect(stored.prepare('SELECT count(*) AS n FROM notes').get()).toEqual({ n: 100 });
      stored.close();

      // A note added after the backup is gone once the backup is restored into the running app.
      expect(await (await fetch(`http://127.0.0.1:${port}/notes`, { method: 'POST' })).json()).toEqual({ count: 101 });
      const { body } = await orchestrator.api.post(`/api/apps/${registered.id}/restore`, { backup: backup.backupName }).expect(202);
      expect((await waitForRunEnd(orchestrator, body.runId)).status).toBe('succeeded');
      expect(await (await fetch(`http://127.0.0.1:${port}/notes`)).json()).toHaveLength(100);
    } finally {
      await orchestrator.close();
      await app.stop();
    }
  });

  it('sends its checksum as a trailer and its version in capabilities, and a second instance of it serves as a drill instance (#18)', async () => {
    const [port, drillPort] = [await servicePort(), await servicePort()];
    const instance = (listen: number, token: string) => start(process.execPath, ['examples/sqlite-app/server.mjs'], {
      env: { PATH: process.env.PATH, PORT: String(listen), BACKUP_TOKEN: token, DATA_DIR: mkdtempSync(join(tmpdir(), 'notes-app-')) },
    });
    const app = instance(port, 'demo-token');
    const drill = instance(drillPort, 'drill-token');
    const orchestrator = await bootOrchestrator();
    try {
      await waitForHttp(`http://127.0.0.1:${port}/notes`);
      await waitForHttp(`http://127.0.0.1:${drillPort}/notes`);
      const check = await checkApp(`http://127.0.0.1:${port}`, 'demo-token');
      expect(check.output).toContain('PASS  SHA-256 matches the X-Backup-Sha256 trailer');
      expect(check.output).toContain('PASS  GET /backup/selftest answers 200');
      expect(check.code).toBe(0);

      // The production instance gets a note the drill instance lacks: the drill's selftest then sees the backup's data.
      for (let i = 0; i < 23; i++) await fetch(`http://127.0.0.1:${port}/notes`, { method: 'POST' });
      const registered = await registerApp(orchestrator, {
        name: 'notes', url: `http://127.0.0.1:${port}`, token: 'demo-token', driveFolderId: 'notes',
        drillUrl: `http://127.0.0.1:${drillPort}`, drillToken: 'drill-token',
      });
      const backup = await runBackup(orchestrator, registered.id);
      expect(backup.status).toBe('succeeded');
      expect(backup.log.join('\n')).toContain('end-to-end checksum from the app: trailer; it matches the bytes received');
      expect((backup as unknown as { app: object }).app).toEqual({ name: 'notes', version: '1.0.0', schemaVersion: '1' });

      const notesBefore = await (await fetch(`http://127.0.0.1:${port}/notes`)).json();
      const { body } = await orchestrator.api.post(`/api/apps/${registered.id}/drill`).expect(202);
      const drilled = (await waitForRunEnd(orchestrator, body.runId)) as unknown as { status: string; selftest: { ok: boolean; checks: { name: string; detail: string }[] } };
      expect(drilled.status).toBe('succeeded');
      expect(drilled.selftest.ok).toBe(true);
      expect(drilled.selftest.checks.find((c) => c.name === 'rows in notes')!.detail).toBe('123 rows');
      expect(await (await fetch(`http://127.0.0.1:${drillPort}/notes`)).json()).toHaveLength(123);
      // The drill restored into the drill instance only: production's data is as it was.
      expect(await (await fetch(`http://127.0.0.1:${port}/notes`)).json()).toEqual(notesBefore);
    } finally {
      await orchestrator.close();
      await app.stop();
      await drill.stop();
    }
  });
});
