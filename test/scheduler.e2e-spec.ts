import { SchedulerRegistry } from '@nestjs/schedule';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { withDatabaseOf } from './support/database';
import { registerApp, RunBody, waitForRunEnd } from './support/backups';
import { appInput, bootOrchestrator, Orchestrator, waitFor } from './support/orchestrator';

type ContractApp = Awaited<ReturnType<typeof startContractApp>>;
const EVERY_SECOND = '* * * * * *';
const NEVER_SOON = '0 0 1 1 *';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('scheduler', () => {
  let orchestrator: Orchestrator;
  let contract: ContractApp;

  beforeAll(async () => {
    contract = await startContractApp();
    contract.setMode({ size: 1000 });
    orchestrator = await bootOrchestrator({ MAX_CONCURRENT_BACKUPS: '4' });
  });
  afterAll(async () => {
    await orchestrator.close();
    await contract.close();
  });

  const runsOf = async (o: Orchestrator, appId: number): Promise<RunBody[]> => (await o.api.get(`/api/apps/${appId}/runs?limit=200`).expect(200)).body;
  const scheduledRuns = async (o: Orchestrator, appId: number) => (await runsOf(o, appId)).filter((run) => run.trigger === 'schedule');
  const hasJob = (o: Orchestrator, appId: number) => o.app.get(SchedulerRegistry).doesExist('cron', `backup:${appId}`);

  it('fires the schedule, shows nextRunAt and lastRun, and follows updates, disabling, re-enabling and deletion', async () => {
    const app = await registerApp(orchestrator, { name: 'ticking', url: contract.url, schedule: EVERY_SECOND, driveFolderId: 'ticking' });
    expect(hasJob(orchestrator, app.id)).toBe(true);
    const fired = await waitFor(async () => (await scheduledRuns(orchestrator, app.id)).find((run) => run.status === 'succeeded'), 5000);
    expect(fired.trigger).toBe('schedule');

    const shown = (await orchestrator.api.get(`/api/apps/${app.id}`).expect(200)).body;
    expect(new Date(shown.nextRunAt).getTime()).toBeGreaterThan(Date.now() - 1000);
    expect(shown.nextRunAt).toMatch(/Z$/);
    expect(shown.lastRun).toMatchObject({ id: expect.any(Number), status: expect.any(String), bytes: expect.any(Number) });
    expect(shown.timezone).toBe('UTC');

    // An update replaces the job: the every-second cadence stops.
    const updated = (await orchestrator.api.patch(`/api/apps/${app.id}`, { schedule: NEVER_SOON }).expect(200)).body;
    expect(updated.nextRunAt).toMatch(/-01-01T00:00:00\.000Z$/);
    await sleep(300); // a firing already under way may still be recorded
    const afterUpdate = (await scheduledRuns(orchestrator, app.id)).length;
    await sleep(2000);
    expect((await scheduledRuns(orchestrator, app.id)).length).toBe(afterUpdate);
    // The update replaced the job, never added one (backup jobs only: the verification scheduler keeps its own in the registry).
    expect([...orchestrator.app.get(SchedulerRegistry).getCronJobs().keys()].filter((name) => name.startsWith('backup:'))).toEqual([`backup:${app.id}`]);

    // Disabled: no job, no next run. Re-enabled: it fires again.
    await orchestrator.api.patch(`/api/apps/${app.id}`, { schedule: EVERY_SECOND, enabled: false }).expect(200);
    expect(hasJob(orchestrator, app.id)).toBe(false);
    expect((await orchestrator.api.get(`/api/apps/${app.id}`).expect(200)).body.nextRunAt).toBeNull();
    await sleep(300);
    const whileDisabled = (await scheduledRuns(orchestrator, app.id)).length;
    await sleep(1500);
    expect((await scheduledRuns(orchestrator, app.id)).length).toBe(whileDisabled);

    await orchestrator.api.patch(`/api/apps/${app.id}`, { enabled: true }).expect(200);
    await waitFor(async () => ((await scheduledRuns(orchestrator, app.id)).length > whileDisabled ? true : undefined), 5000);

    // Deleted: the job is gone with it.
    await orchestrator.api.delete(`/api/apps/${app.id}`).expect(204);
    expect(hasJob(orchestrator, app.id)).toBe(false);
    expect(orchestrator.app.get(SchedulerRegistry).getCronJobs().size).toBe(0);
  });

  it('records a firing during a running backup as skipped, never queued behind it', async () => {
    const slow = await startContractApp();
    slow.setMode({ size: 2 * 1024 * 1024, length: true, checksum: true, delayMs: 80 }); // ~2.6 s
    try {
      const app = await registerApp(orchestrator, { name: 'overlap', url: slow.url, schedule: EVERY_SECOND, driveFolderId: 'overlap' });
      const skipped = await waitFor(async () => (await scheduledRuns(orchestrator, app.id)).find((run) => run.status === 'skipped'), 8000);
      expect(skipped.error).toBe('the previous run of this app was still running');
      await orchestrator.api.patch(`/api/apps/${app.id}`, { enabled: false }).expect(200);
      const runs = await runsOf(orchestrator, app.id);
      expect(runs.filter((run) => run.status === 'queued')).toEqual([]);
      for (const run of runs.filter((r) => r.status === 'running')) await waitForRunEnd(orchestrator, run.id);
    } finally {
      await slow.close();
    }
  });

  it('computes next runs in the app time zone, and validates zones', async () => {
    const app = await registerApp(orchestrator, { name: 'kiribati', schedule: '0 3 * * *', timezone: 'Pacific/Kiritimati' });
    const body = (await orchestrator.api.get(`/api/apps/${app.id}`).expect(200)).body;
    expect(body.timezone).toBe('Pacific/Kiritimati');
    expect(body.nextRunAt).toMatch(/T13:00:00\.000Z$/); // 03:00 at UTC+14
    const bad = await orchestrator.api.post('/api/apps', appInput({ name: 'mars', timezone: 'Mars/Olympus' })).expect(400);
    expect(bad.body.message).toBe('timezone: must be an IANA time zone such as UTC or Europe/Madrid');
    const reset = (await orchestrator.api.patch(`/api/apps/${app.id}`, { timezone: null }).expect(200)).body;
    expect(reset.timezone).toBe('UTC');
    expect(reset.nextRunAt).toMatch(/T03:00:00\.000Z$/);
  });
});

describe('scheduler across restarts', () => {
  it('restores jobs after a restart, and catches up a missed firing only when CATCH_UP_MISSED=true', async () => {
    const contract = await startContractApp();
    contract.setMode({ size: 100 });
    const first = await bootOrchestrator();
    const ticking = await registerApp(first, { name: 'ticking', url: contract.url, schedule: EVERY_SECOND, driveFolderId: 't' });
    const daily = await registerApp(first, { name: 'daily', url: contract.url, schedule: '0 3 * * *', driveFolderId: 'd' });
    await first.close();

    // The daily app was last changed two days ago and never ran since: its 03:00 firing was missed.
    await withDatabaseOf(first.config, (db) => db.query('UPDATE apps SET "updatedAt" = ? WHERE id = ?', [db.ago(2 * 24 * 3600_000), daily.id]));

    const plain = await bootOrchestrator({ DATA_DIR: first.dataDir });
    try {
      expect(plain.app.get(SchedulerRegistry).doesExist('cron', `backup:${ticking.id}`)).toBe(true);
      await waitFor(async () => ((await plain.api.get(`/api/apps/${ticking.id}/runs`)).body.length > 0 ? true : undefined), 5000);
      expect((await plain.api.get(`/api/apps/${daily.id}/runs`).expect(200)).body).toEqual([]);
    } finally {
      await plain.close();
    }

    const catchingUp = await bootOrchestrator({ DATA_DIR: first.dataDir, CATCH_UP_MISSED: 'true' });
    try {
      // Embedded, the catch-up run is queued during the boot; in cluster mode (TEST_DATABASE=postgres) its firing goes
      // through the cluster's queue first, and a replica takes it a moment later.
      const runs: RunBody[] = await waitFor(async () => {
        const listed: RunBody[] = (await catchingUp.api.get(`/api/apps/${daily.id}/runs`).expect(200)).body;
        return listed.length > 0 ? listed : undefined;
      });
      expect(runs).toHaveLength(1);
      expect(runs[0].trigger).toBe('schedule');
      expect((await waitForRunEnd(catchingUp, runs[0].id)).status).toBe('succeeded');
    } finally {
      await catchingUp.close();
      await contract.close();
    }
  });

  it('lets a running backup finish within SHUTDOWN_GRACE_S, then refuses new runs', async () => {
    const contract = await startContractApp();
    contract.setMode({ size: 1024 * 1024, length: true, checksum: true, delayMs: 50 }); // ~0.8 s
    const orchestrator = await bootOrchestrator({ SHUTDOWN_GRACE_S: '10' });
    const app = await registerApp(orchestrator, { name: 'graceful', url: contract.url, driveFolderId: 'g' });
    const other = await registerApp(orchestrator, { name: 'latecomer', url: contract.url, driveFolderId: 'l' });
    const runId = (await orchestrator.api.post(`/api/apps/${app.id}/run`).expect(202)).body.runId;
    const closing = orchestrator.close();
    await sleep(100);
    const refused = await orchestrator.api.post(`/api/apps/${other.id}/run`).expect(503);
    expect(refused.body.message).toBe('the service is shutting down and starts no new runs');
    await closing;
    const after = await bootOrchestrator({ DATA_DIR: orchestrator.dataDir });
    try {
      expect((await after.api.get(`/api/runs/${runId}`).expect(200)).body.status).toBe('succeeded');
    } finally {
      await after.close();
      await contract.close();
    }
  });
});
