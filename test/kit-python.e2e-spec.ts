import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApp, runBackup, waitForRunEnd } from './support/backups';
import { bootOrchestrator, Orchestrator, waitFor } from './support/orchestrator';
import { run, start, Started } from './support/processes';

// The Python example (examples/python-app, standard library only), started with python3 on a free loopback
// port, checked by check-app and backed up and restored by the orchestrator (#17, point 18).

const EXAMPLE = 'examples/python-app';
const TOKEN = 'py-token';
const checkApp = (url: string, ...extra: string[]) => run(process.execPath, ['scripts/check-app.mjs', '--url', url, '--token', TOKEN, ...extra]);

describe('Python example app (examples/python-app)', () => {
  let app: Started;
  let url: string;
  let dataDir: string;
  let orchestrator: Orchestrator;
  const notes = async () => ((await (await fetch(`${url}/notes`)).json()) as unknown[]).length;
  const addNote = async () => ((await (await fetch(`${url}/notes`, { method: 'POST' })).json()) as { count: number }).count;
  /** What the app logged for one request line, e.g. "POST /backup/import". */
  const logged = (request: string) => app.output().split('\n').filter((line) => line.includes(`"${request} HTTP/1.1"`));

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'python-app-'));
    // PORT=0: the app takes a free port and prints it, so parallel test files never collide.
    app = start('python3', [join(EXAMPLE, 'server.py')], {
      env: { PATH: process.env.PATH, PYTHONUNBUFFERED: '1', BACKUP_TOKEN: TOKEN, HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir },
    });
    const port = await waitFor(() => /notes app on port (\d+)/.exec(app.output())?.[1]);
    url = `http://127.0.0.1:${port}`;
    orchestrator = await bootOrchestrator();
  });
  afterAll(async () => {
    await orchestrator?.close();
    await app?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('uses only the standard library and has a README saying how to run it', async () => {
    const script = [
      'import ast, sys',
      `tree = ast.parse(open(${JSON.stringify(join(EXAMPLE, 'server.py'))}).read())`,
      'names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}',
      'names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}',
      'print(sorted(names - set(sys.stdlib_module_names)))',
    ].join('\n');
    const { code, output } = await run('python3', ['-c', script]);
    expect(output.trim()).toBe('[]');
    expect(code).toBe(0);
    const readme = readFileSync(join(EXAMPLE, 'README.md'), 'utf8');
    for (const text of ['python3 server.py', 'BACKUP_TOKEN', 'PORT', 'DATA_DIR', 'Authorization: Bearer', 'check-app']) expect(readme).toContain(text);
  });

  it('passes check-app, which sends nothing to /backup/import without --restore-round-trip', async () => {
    const { code, output } = await checkApp(url);
    expect(output).not.toContain('FAIL');
    expect(output).toContain('PASS  SHA-256 matches the X-Backup-Sha256 trailer');
    expect(output).toContain('PASS  GET /backup/selftest answers 200 with {ok, checks: [{name, ok, detail}]}');
    expect(output).toContain('INFO  restore announced, but POST /backup/import is not checked');
    expect(code).toBe(0);
    expect(logged('POST /backup/import')).toEqual([]);
  });

  it('passes the round trip with --restore-round-trip, which replaces its data with its export', async () => {
    const count = await addNote();
    const { code, output } = await checkApp(`${url}/`, '--restore-round-trip');
    expect(output).not.toContain('FAIL');
    expect(output).toContain('WARNING  --restore-round-trip');
    expect(output).toContain('PASS  POST /backup/import accepts its own export (round trip) — answered 200');
    expect(code).toBe(0);
    expect(logged('POST /backup/import').at(-1)).toMatch(/ 200 run=-$/);
    expect(await notes()).toBe(count); // the export it got back was taken after the note
  });

  it('passes the round trip with a database large enough that its export and the import would overlap if streamed', async () => {
    // The app answers 409 to an import while an export runs: check-app must hold the export, not stream a second one.
    const bigDir = mkdtempSync(join(tmpdir(), 'python-app-big-'));
    const seeded = new Database(join(bigDir, 'notes.db'));
    seeded.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, created_at TEXT NOT NULL)');
    const insert = seeded.prepare("INSERT INTO notes (body, created_at) VALUES (?, datetime('now'))");
    seeded.transaction(() => {
      for (let i = 0; i < 12_000; i++) insert.run(`${i} `.padEnd(1000, 'x'));
    })();
    seeded.close();
    const big = start('python3', [join(EXAMPLE, 'server.py')], {
      env: { PATH: process.env.PATH, PYTHONUNBUFFERED: '1', BACKUP_TOKEN: TOKEN, HOST: '127.0.0.1', PORT: '0', DATA_DIR: bigDir },
    });
    try {
      const port = await waitFor(() => /notes app on port (\d+)/.exec(big.output())?.[1]);
      const { code, output } = await checkApp(`http://127.0.0.1:${port}`, '--restore-round-trip');
      expect(output).toMatch(/PASS {2}export streams a non-empty body — 1\d{7} bytes/);
      expect(output).toContain('PASS  POST /backup/import accepts its own export (round trip) — answered 200');
      expect(code).toBe(0);
    } finally {
      await big.stop();
      rmSync(bigDir, { recursive: true, force: true });
    }
  });

  it('is backed up and restored by the orchestrator, and logs the run id of each request', async () => {
    const registered = await registerApp(orchestrator, { name: 'pynotes', url, token: TOKEN, driveFolderId: 'pynotes' });
    const backup = await runBackup(orchestrator, registered.id);
    expect(backup.status).toBe('succeeded');
    expect(backup.remotePath).toMatch(/pynotes-\d{8}T\d{6}Z\.db$/);
    const count = await notes();
    const stored = new Database(backup.remotePath!, { readonly: true });
    expect(stored.prepare('SELECT count(*) AS n FROM notes').get()).toEqual({ n: count });
    stored.close();
    expect(logged('POST /backup/export').at(-1)).toMatch(new RegExp(` 200 run=${backup.id}$`));

    expect(await addNote()).toBe(count + 1);
    const name = (backup as unknown as { backupName: string }).backupName;
    const { body } = await orchestrator.api.post(`/api/apps/${registered.id}/restore`, { backup: name }).expect(202);
    expect((await waitForRunEnd(orchestrator, body.runId)).status).toBe('succeeded');
    expect(await notes()).toBe(count);
    expect(logged('POST /backup/import').at(-1)).toMatch(new RegExp(` 200 run=${body.runId}$`));
  });

  it('sends its checksum as a hand-written chunked trailer and its version, and a second instance serves as a drill instance (#18)', async () => {
    const drillDir = mkdtempSync(join(tmpdir(), 'python-drill-'));
    const drill = start('python3', [join(EXAMPLE, 'server.py')], {
      env: { PATH: process.env.PATH, PYTHONUNBUFFERED: '1', BACKUP_TOKEN: 'drill-token', HOST: '127.0.0.1', PORT: '0', DATA_DIR: drillDir },
    });
    try {
      const drillUrl = `http://127.0.0.1:${await waitFor(() => /notes app on port (\d+)/.exec(drill.output())?.[1])}`;
      const registered = await registerApp(orchestrator, { name: 'pydrill', url, token: TOKEN, driveFolderId: 'pydrill', drillUrl, drillToken: 'drill-token' });
      for (let i = 0; i < 7; i++) await addNote();
      const count = await notes();
      const backup = (await runBackup(orchestrator, registered.id)) as Awaited<ReturnType<typeof runBackup>> & { app: object };
      expect(backup.status).toBe('succeeded');
      expect(backup.log.join('\n')).toContain('end-to-end checksum from the app: trailer; it matches the bytes received');
      expect(backup.app).toEqual({ name: 'pynotes', version: '1.0.0', schemaVersion: '1' });

      const exports = logged('POST /backup/export').length;
      const { body } = await orchestrator.api.post(`/api/apps/${registered.id}/drill`).expect(202);
      const drilled = (await waitForRunEnd(orchestrator, body.runId)) as unknown as { status: string; selftest: { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] } };
      expect(drilled.status).toBe('succeeded');
      expect(drilled.selftest).toEqual({
        ok: true,
        checks: [
          { name: 'integrity check', ok: true, detail: 'ok' },
          { name: 'rows in notes', ok: true, detail: `${count} rows` },
          { name: 'schema up to date', ok: true, detail: 'schema version 1, this app runs 1' },
        ],
      });
      expect(((await (await fetch(`${drillUrl}/notes`)).json()) as unknown[]).length).toBe(count);
      // The drill spoke only to the drill instance.
      expect(logged('POST /backup/export').length).toBe(exports);
      expect(logged('POST /backup/import').filter((line) => line.includes(`run=${body.runId}`))).toEqual([]);
      expect(drill.output()).toMatch(new RegExp(`"GET /backup/selftest HTTP/1.1" 200 run=${body.runId}`));
    } finally {
      await drill.stop();
      rmSync(drillDir, { recursive: true, force: true });
    }
  });

  it('answers 409 while an import is under way, and discards an import whose upload is aborted', async () => {
    const count = await notes();
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST /backup/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/octet-stream\r\n` +
      `Content-Length: ${1024 * 1024}\r\nX-Backup-Sha256: ${'0'.repeat(64)}\r\n\r\n`);
    socket.write(Buffer.alloc(64 * 1024, 1));
    await waitFor(() => readdirSync(dataDir).some((entry) => entry.startsWith('.import-')) || undefined);

    const busy = await fetch(`${url}/backup/export`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: '{"version":"v1"}' });
    expect(busy.status).toBe(409);
    expect(await busy.json()).toEqual({ error: 'a backup or restore is already running' });

    socket.destroy(); // as the orchestrator does when the stored file turns out bad, or the run is cancelled
    await waitFor(() => (readdirSync(dataDir).some((entry) => entry.startsWith('.import-')) ? undefined : true));
    expect(readdirSync(dataDir)).toEqual(['notes.db']);
    expect(await notes()).toBe(count);
    const after = await fetch(`${url}/backup/export`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: '{"version":"v1"}' });
    expect(after.status).toBe(200); // the lock was released
    await after.arrayBuffer();
  });

  it('refuses a tampered or foreign import (422), an unknown contract version (400) and a missing token (401)', async () => {
    const count = await notes();
    const exported = await fetch(`${url}/backup/export`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: '{"version":"v1"}' });
    const bytes = Buffer.from(await exported.arrayBuffer());
    const tampered = await fetch(`${url}/backup/import`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/octet-stream', 'X-Backup-Sha256': createHash('sha256').update(bytes).digest('hex').toUpperCase() },
      body: Buffer.concat([bytes.subarray(0, -1), Buffer.from([bytes.at(-1)! ^ 1])]),
    });
    expect(tampered.status).toBe(422);
    expect(await tampered.json()).toEqual({ error: 'SHA-256 does not match X-Backup-Sha256' });

    // Bytes that match their checksum but are no notes database: refused too, the data untouched.
    for (const body of [Buffer.from('not a database at all'), Buffer.from(bytes.toString('latin1').replace('CREATE TABLE notes', 'CREATE TABLE other'), 'latin1')]) {
      const foreign = await fetch(`${url}/backup/import`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'X-Backup-Sha256': createHash('sha256').update(body).digest('hex') },
        body,
      });
      expect(foreign.status).toBe(422);
      expect(await foreign.json()).toEqual({ error: 'not a notes database' });
    }

    const v2 = await fetch(`${url}/backup/export`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: '{"version":"v2"}' });
    expect(v2.status).toBe(400);
    expect(await v2.json()).toEqual({ error: 'contract version "v2" is not supported; this app speaks v1' });

    const anonymous = await fetch(`${url}/backup/import`, { method: 'POST', body: bytes });
    expect(anonymous.status).toBe(401);
    expect(await notes()).toBe(count);
  });
});
