import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { withDatabaseOf } from './support/database';
import { expectFailed, filesIn, registerApp, RunBody, runBackup, seed, waitForRunEnd } from './support/backups';
import { bootOrchestrator, Orchestrator, waitFor } from './support/orchestrator';
import { onPostgres } from './support/postgres';

type ContractApp = Awaited<ReturnType<typeof startContractApp>>;

describe('runs: locking, queueing, limits and history', () => {
  let orchestrator: Orchestrator;
  let contract: ContractApp;

  beforeAll(async () => {
    orchestrator = await bootOrchestrator({ MAX_CONCURRENT_BACKUPS: '1', MAX_BACKUP_SIZE: '2MiB' });
    contract = await startContractApp();
  });
  afterAll(async () => {
    await orchestrator.close();
    await contract.close();
  });

  const getRun = async (id: number): Promise<RunBody> => (await orchestrator.api.get(`/api/runs/${id}`).expect(200)).body;

  it('refuses a second manual run of a busy app with 409, queues other apps beyond the limit, and shows bytes live', async () => {
    // ~1.5 MiB at 64 KiB every 40 ms: long enough to watch, short enough for a test.
    contract.setMode({ size: 1.5 * 1024 * 1024, length: true, checksum: true, delayMs: 40 });
    const slow = await registerApp(orchestrator, { name: 'slow', url: contract.url, driveFolderId: 'slow' });
    const other = await registerApp(orchestrator, { name: 'other', url: contract.url, driveFolderId: 'other' });

    const first = (await orchestrator.api.post(`/api/apps/${slow.id}/run`).expect(202)).body.runId;
    const refused = await orchestrator.api.post(`/api/apps/${slow.id}/run`).expect(409);
    expect(refused.body.message).toBe('a run of "slow" is already in progress; wait for it to finish');

    const queued = (await orchestrator.api.post(`/api/apps/${other.id}/run`).expect(202)).body.runId;
    expect((await getRun(queued)).status).toBe('queued'); // MAX_CONCURRENT_BACKUPS=1

    const growing = await waitFor(async () => {
      const run = await getRun(first);
      return run.status === 'running' && run.bytes > 0 && run.bytes < 1.5 * 1024 * 1024 ? run : undefined;
    });
    expect(growing.bytes).toBeGreaterThan(0);

    expect((await waitForRunEnd(orchestrator, first)).status).toBe('succeeded');
    expect((await waitForRunEnd(orchestrator, queued)).status).toBe('succeeded');
  });

  it('stops a backup that exceeds MAX_BACKUP_SIZE and keeps nothing of it', async () => {
    contract.setMode({ size: 3 * 1024 * 1024, length: false, checksum: false });
    const app = await registerApp(orchestrator, { name: 'big', url: contract.url, driveFolderId: 'big' });
    const run = await runBackup(orchestrator, app.id);
    expectFailed(run, 'export', 'backup exceeds MAX_BACKUP_SIZE (2 MiB); stopped');
    expect(filesIn(join(orchestrator.config.rclone.remote, 'big'))).toEqual([]);
  });

  it('lists runs newest first with a limit, and answers 404 for unknown apps and runs', async () => {
    contract.setMode({ size: 10 });
    const app = await registerApp(orchestrator, { name: 'history', url: contract.url, driveFolderId: 'history' });
    const ids = [(await runBackup(orchestrator, app.id)).id, (await runBackup(orchestrator, app.id)).id, (await runBackup(orchestrator, app.id)).id];
    const runs = (await orchestrator.api.get(`/api/apps/${app.id}/runs?limit=2`).expect(200)).body;
    expect(runs.map((run: RunBody) => run.id)).toEqual([ids[2], ids[1]]);
    expect(Object.keys(runs[0])).toEqual(expect.arrayContaining(
      ['id', 'appId', 'trigger', 'status', 'startedAt', 'finishedAt', 'bytes', 'sha256', 'remotePath', 'error', 'log'],
    ));
    await orchestrator.api.get(`/api/apps/${app.id}/runs?limit=0`).expect(400);
    await orchestrator.api.post('/api/apps/9999/run').expect(404);
    await orchestrator.api.get('/api/apps/9999/runs').expect(404);
    await orchestrator.api.get('/api/runs/9999').expect(404);
    await orchestrator.api.get('/api/runs/x').expect(404);
  });

  it('checks the connection: versions and type, or the reason', async () => {
    contract.setMode({});
    const app = await registerApp(orchestrator, { name: 'checked', url: contract.url, driveFolderId: 'checked' });
    expect((await orchestrator.api.post(`/api/apps/${app.id}/check`).expect(200)).body).toEqual({ ok: true, versions: ['v1'], type: 'sqlite', error: null });
    contract.setMode({ behaviour: 'v2-only' });
    expect((await orchestrator.api.post(`/api/apps/${app.id}/check`).expect(200)).body).toEqual({
      ok: false, versions: ['v2'], type: 'sqlite', error: 'app offers contract versions [v2]; app-orquestador needs v1',
    });
    const down = await registerApp(orchestrator, { name: 'down', url: 'http://127.0.0.1:9', driveFolderId: 'down' });
    expect((await orchestrator.api.post(`/api/apps/${down.id}/check`).expect(200)).body).toMatchObject({
      ok: false, error: 'connection to 127.0.0.1:9 refused: is the app running and listening on that port?',
    });
  });

  it('keeps the backups in the remote when the app is deleted; its run history goes with it', async () => {
    contract.setMode({ size: 100 });
    const app = await registerApp(orchestrator, { name: 'leaving', url: contract.url, driveFolderId: 'leaving' });
    const run = await runBackup(orchestrator, app.id);
    await orchestrator.api.delete(`/api/apps/${app.id}`).expect(204);
    expect(filesIn(join(orchestrator.config.rclone.remote, 'leaving'))).toEqual([run.remotePath!.split('/').pop()]);
    await waitFor(async () => ((await orchestrator.api.get(`/api/runs/${run.id}`)).status === 404 ? true : undefined));
  });
});

describe('runs across restarts', () => {
  // Embedded mode's restart recovery (every unfinished run is the dead process's). In cluster mode (TEST_DATABASE=postgres)
  // a boot fails only runs whose replica's lease ran out: test/cluster.e2e-spec.ts kills a replica for that.
  it.skipIf(onPostgres)('stops a running backup on shutdown without a file, and fails runs a crash left unfinished', async () => {
    const contract = await startContractApp();
    contract.setMode({ size: 8 * 1024 * 1024, length: true, checksum: true, delayMs: 50 });
    const first = await bootOrchestrator({ SHUTDOWN_GRACE_S: '0' });
    const folder = join(first.config.rclone.remote, 'restart');
    const app = await registerApp(first, { name: 'restart', url: contract.url, driveFolderId: 'restart' });
    const runId = (await first.api.post(`/api/apps/${app.id}/run`).expect(202)).body.runId;
    await waitFor(async () => ((await first.api.get(`/api/runs/${runId}`)).body.bytes > 0 ? true : undefined));
    await first.close();
    expect(filesIn(folder)).toEqual([]);

    // A crash leaves a run "running" and its upload behind: simulate one in the database and the remote.
    const crashedId = await withDatabaseOf(first.config, async (db) => {
      await db.query(`INSERT INTO runs ("appId", "appName", "trigger", status, "queuedAt", "startedAt") VALUES (?, 'restart', 'schedule', 'running', ?, ?)`, [app.id, db.ago(0), db.ago(0)]);
      return (await db.query<{ id: number }>('SELECT max(id) AS id FROM runs'))[0].id;
    });
    seed(folder, [`.restart-20260101T000000Z.db.run${crashedId}.partial`, 'restart-20250101T000000Z.db']);

    const second = await bootOrchestrator({ DATA_DIR: first.dataDir });
    try {
      const stopped = (await second.api.get(`/api/runs/${runId}`).expect(200)).body;
      expectFailed(stopped, 'shutdown', 'stopped by shutdown');
      const crashed = (await second.api.get(`/api/runs/${crashedId}`).expect(200)).body;
      expectFailed(crashed, 'restart', 'interrupted by restart');
      await waitFor(() => (filesIn(folder).length === 1 ? true : undefined));
      expect(filesIn(folder)).toEqual(['restart-20250101T000000Z.db']);
    } finally {
      await second.close();
      await contract.close();
    }
  });
});

describe('a misconfigured remote', () => {
  it('fails the run before asking the app for a dump, says how to fix it, and answers 502 for listings', async () => {
    const contract = await startContractApp();
    const orchestrator = await bootOrchestrator({ RCLONE_REMOTE: 'nowhere:' });
    try {
      const app = await registerApp(orchestrator, { name: 'lost', url: contract.url, driveFolderId: 'lost' });
      const run = await runBackup(orchestrator, app.id);
      expectFailed(run, 'upload', 'rclone remote "nowhere" (RCLONE_REMOTE) is not configured');
      expect(contract.requests).not.toContain('POST /backup/export');
      const listing = await orchestrator.api.get(`/api/apps/${app.id}/backups`).expect(502);
      expect(listing.body.message).toContain('could not list the backups of lost');
    } finally {
      await orchestrator.close();
      await contract.close();
    }
  });
});
