import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { registerApp, runBackup, waitForRunEnd } from './support/backups';
import { bootOrchestrator } from './support/orchestrator';
import { run, start, waitForHttp } from './support/processes';

const checkApp = (url: string, token: string, ...extra: string[]) =>
  run(process.execPath, ['scripts/check-app.mjs', '--url', url, '--token', token, ...extra]);

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
    const { code, output } = await checkApp(contract.url, 'right');
    expect(output).toContain(`FAIL  ${point}`);
    expect(code).toBe(1);
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

describe('example app (examples/sqlite-app)', () => {
  it('meets contract v1 and its backup is a working SQLite database', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'notes-app-'));
    const app = start(process.execPath, ['examples/sqlite-app/server.mjs'], {
      env: { PATH: process.env.PATH, PORT: String(port), BACKUP_TOKEN: 'demo-token', DATA_DIR: dataDir },
    });
    const orchestrator = await bootOrchestrator();
    try {
      await waitForHttp(`http://127.0.0.1:${port}/notes`);
      const check = await checkApp(`http://127.0.0.1:${port}`, 'demo-token');
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
});
