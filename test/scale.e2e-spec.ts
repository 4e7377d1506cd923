import { SchedulerRegistry } from '@nestjs/schedule';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { BackupScheduler } from '../src/backup/backup-scheduler.service';
import { RunBody, registerApp, waitForRunEnd } from './support/backups';
import { startContractApp } from './support/contract-app.mjs';
import { withDatabaseOf } from './support/database';
import { bootOrchestrator, waitFor } from './support/orchestrator';
import { onPostgres } from './support/postgres';

describe('many apps at boot', () => {
  it('answers requests while it registers 5 000 jobs in the background, and registers every one', async () => {
    const first = await bootOrchestrator();
    await first.close();
    await withDatabaseOf(first.config, async (db) => {
      // 500 rows a statement: one transaction's worth on either database, without 5 000 round trips.
      for (let from = 1; from <= 5000; from += 500) {
        const ids = Array.from({ length: 500 }, (_, n) => from + n);
        await db.query(
          `INSERT INTO apps (name, url, "tokenEncrypted", schedule, "driveFolderId", retention, enabled, "createdAt", "updatedAt") VALUES ${ids.map(() => `(?, 'http://127.0.0.1:9', 'x', ?, ?, 7, ?, ?, ?)`).join(', ')}`,
          ids.flatMap((i) => [`app-${i}`, `${i % 60} ${i % 24} * * *`, `app-${i}`, true, db.ago(0), db.ago(0)]),
        );
      }
    });

    const orchestrator = await bootOrchestrator({ DATA_DIR: first.dataDir });
    try {
      const registry = orchestrator.app.get(SchedulerRegistry);
      const registeredAtBoot = registry.getCronJobs().size;
      // Served while the scheduler is still registering: a request waits for a slice, not for all of them.
      await request(orchestrator.app.getHttpServer()).get('/api/health').expect(200);
      await orchestrator.app.get(BackupScheduler).registered();
      expect(registeredAtBoot).toBeLessThan(5000);
      expect(registry.getCronJobs().size).toBe(5000);
      const health = (await orchestrator.api.get('/api/health').expect(200)).body;
      expect(health.checks.scheduler).toMatchObject({ status: 'ok', jobs: 5000 });
    } finally {
      await orchestrator.close();
    }
  });
});

describe('a firing while the app waits for a free slot', () => {
  // Embedded mode's queue: in cluster mode (TEST_DATABASE=postgres) a firing with no free slot waits in pg-boss instead,
  // never as a run queued behind one replica's (test/cluster.e2e-spec.ts).
  it.skipIf(onPostgres)('is served by the queued run instead of being recorded as skipped', async () => {
    const contract = await startContractApp();
    contract.setMode({ size: 2 * 1024 * 1024, length: true, checksum: true, delayMs: 150 }); // ~5 s a backup
    const orchestrator = await bootOrchestrator({ MAX_CONCURRENT_BACKUPS: '1' });
    try {
      const slow = await registerApp(orchestrator, { name: 'slow', url: contract.url, driveFolderId: 'slow' });
      const busyRun = (await orchestrator.api.post(`/api/apps/${slow.id}/run`).expect(202)).body.runId;
      const ticking = await registerApp(orchestrator, { name: 'ticking', url: contract.url, driveFolderId: 'ticking', schedule: '* * * * * *' });
      // Every second a firing; the first queues a run that waits behind "slow" for its only slot.
      const queued: RunBody = await waitFor(async () => (await orchestrator.api.get(`/api/apps/${ticking.id}/runs`)).body[0]);
      expect(queued.status).toBe('queued');
      await waitFor(async () => {
        const run: RunBody = (await orchestrator.api.get(`/api/runs/${queued.id}`)).body;
        return run.log.filter((line) => line.includes('this run serves it')).length >= 2 ? run : undefined;
      });
      await orchestrator.api.patch(`/api/apps/${ticking.id}`, { enabled: false }).expect(200);
      const served = await waitForRunEnd(orchestrator, queued.id);
      expect(served.status).toBe('succeeded');
      expect((await waitForRunEnd(orchestrator, busyRun)).status).toBe('succeeded');
      // While it waited, no firing was turned into a "skipped" run (once it runs, overlapping firings are skipped).
      const runs: RunBody[] = (await orchestrator.api.get(`/api/apps/${ticking.id}/runs`).expect(200)).body;
      const skippedWhileQueued = runs.filter((run) => run.status === 'skipped' && Date.parse(run.queuedAt) < Date.parse(served.startedAt!));
      expect(runs.filter((run) => run.id < queued.id)).toEqual([]);
      expect(skippedWhileQueued).toEqual([]);
    } finally {
      await orchestrator.close();
      await contract.close();
    }
  });
});

describe('event loop metrics', () => {
  it('exports the event loop lag, with its 99th percentile, for Prometheus', async () => {
    const orchestrator = await bootOrchestrator();
    try {
      const text = (await orchestrator.api.get('/metrics').expect(200)).text;
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
      expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
    } finally {
      await orchestrator.close();
    }
  });
});
