import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunHistoryPruner } from '../src/backup/run-history-pruner.service';
import { registerApp, runBackup } from './support/backups';
import { startContractApp } from './support/contract-app.mjs';
import { databaseOf, TestDatabase } from './support/database';
import { bootOrchestrator, Orchestrator, waitFor } from './support/orchestrator';

interface SeededRun {
  appId: number;
  daysAgo: number;
  kind?: 'backup' | 'verify' | 'restore';
  status?: 'succeeded' | 'failed' | 'running';
  removed?: boolean;
}

describe('run history pruning (RUN_HISTORY_DAYS=30, RUN_HISTORY_MAX=5, RUN_LOG_DAYS=7)', () => {
  let orchestrator: Orchestrator;
  let db: TestDatabase;

  beforeAll(async () => {
    orchestrator = await bootOrchestrator({ RUN_HISTORY_DAYS: '30', RUN_HISTORY_MAX: '5', RUN_LOG_DAYS: '7' });
    db = databaseOf(orchestrator);
  });
  afterAll(async () => {
    await orchestrator?.close();
  });

  /** Inserts runs in the order given (ids grow with it, as in real history); returns their ids. */
  async function seed(runs: SeededRun[]): Promise<number[]> {
    const ids: number[] = [];
    for (const [n, run] of runs.entries()) {
      const at = db.ago(run.daysAgo * 24 * 3600_000);
      const status = run.status ?? 'succeeded';
      const [{ id }] = await db.query<{ id: number }>(
        `INSERT INTO runs ("appId", "appName", kind, "trigger", status, "queuedAt", "startedAt", "finishedAt", bytes, sha256, "backupName", "backupRemovedAt", log)
        VALUES (?, 'x', ?, 'schedule', ?, ?, ?, ?, 10, ?, ?, ?, 'a line\n') RETURNING id`,
        [run.appId, run.kind ?? 'backup', status, at, at, status === 'running' ? null : at, status === 'succeeded' ? 'ab'.repeat(32) : null, `x-${n}.db`, run.removed ? db.ago(0) : null],
      );
      ids.push(id);
    }
    return ids;
  }

  const surviving = async (ids: number[]) => new Set((await db.query<{ id: number }>('SELECT id FROM runs')).map((row) => row.id).filter((id) => ids.includes(id)));
  const logOf = async (id: number) => (await db.query<{ log: string }>('SELECT log FROM runs WHERE id = ?', [id]))[0].log;

  it('deletes old, surplus and orphaned runs, but never those a backup or a running run still needs', async () => {
    const pruner = orchestrator.app.get(RunHistoryPruner);
    const alpha = await registerApp(orchestrator, { name: 'alpha', driveFolderId: 'alpha' });
    const beta = await registerApp(orchestrator, { name: 'beta', driveFolderId: 'beta' });
    const gone = await registerApp(orchestrator, { name: 'gone', driveFolderId: 'gone' });
    await orchestrator.api.delete(`/api/apps/${gone.id}`).expect(204);
    await pruner.prune(); // the pass the deletion started, and the boot's, are over
    const [oldRemoved, oldStored, oldFailed, oldVerify, oldRunning, tenDaysFailed] = await seed([
      { appId: alpha.id, daysAgo: 60, removed: true },
      { appId: alpha.id, daysAgo: 60 },
      { appId: alpha.id, daysAgo: 60, status: 'failed' },
      { appId: alpha.id, daysAgo: 59, kind: 'verify' },
      { appId: alpha.id, daysAgo: 50, status: 'running' },
      { appId: alpha.id, daysAgo: 10, status: 'failed' },
    ]);
    const recentFailures = await seed(Array.from({ length: 7 }, (_, i) => ({ appId: alpha.id, daysAgo: 3 - i * 0.1, status: 'failed' as const })));
    const [betaOnlySuccess, betaOldFailure] = await seed([{ appId: beta.id, daysAgo: 90, removed: true }, { appId: beta.id, daysAgo: 80, status: 'failed' }]);
    // Left by a process that stopped before it could prune them.
    const goneRuns = await seed([{ appId: gone.id, daysAgo: 1 }, { appId: gone.id, daysAgo: 0 }]);
    const neverRegistered = await seed([{ appId: 9999, daysAgo: 1, status: 'failed' }]);

    const result = await pruner.prune();

    const kept = await surviving([oldRemoved, oldStored, oldFailed, oldVerify, oldRunning, tenDaysFailed, ...recentFailures,
      betaOnlySuccess, betaOldFailure, ...goneRuns, ...neverRegistered]);
    // Alpha: past 30 days only the stored backup and the running run stay; of the rest, the 5 newest.
    expect([...kept].filter((id) => id <= tenDaysFailed || recentFailures.includes(id)).sort((a, b) => a - b))
      .toEqual([oldStored, oldRunning, ...recentFailures.slice(-5)].sort((a, b) => a - b));
    // Beta: its newest (only) successful backup stays even though its file is gone and it is old.
    expect(kept.has(betaOnlySuccess)).toBe(true);
    expect(kept.has(betaOldFailure)).toBe(false);
    // Runs of deleted (or never registered) apps go.
    for (const id of [...goneRuns, ...neverRegistered]) expect(kept.has(id)).toBe(false);
    expect(result.deleted).toBe(3 + 3 + 1 + 2 + 1); // alpha past 30 days, alpha beyond 5, beta, gone, 9999

    // Logs older than 7 days are emptied; the rows stay.
    expect(await logOf(oldStored)).toBe('');
    expect(await logOf(recentFailures.at(-1)!)).toBe('a line\n');
    expect(await logOf(oldRunning)).toBe('a line\n'); // an unfinished run is never touched

    // A second pass finds nothing more to do.
    expect(await pruner.prune()).toEqual({ deleted: 0, logsEmptied: 0 });
  });

  it('deletes the runs of an app when the app is deleted', async () => {
    const app = await registerApp(orchestrator, { name: 'short-lived', driveFolderId: 'short-lived' });
    const ids = await seed([{ appId: app.id, daysAgo: 1 }, { appId: app.id, daysAgo: 0, status: 'failed' }]);
    await orchestrator.api.delete(`/api/apps/${app.id}`).expect(204);
    await waitFor(async () => ((await surviving(ids)).size === 0 ? true : undefined));
  });

  it('marks the run that made a backup once retention deletes the file, so that pruning may take it', async () => {
    const contract = await startContractApp();
    try {
      const app = await registerApp(orchestrator, { name: 'rotated', url: contract.url, driveFolderId: 'rotated', retention: 1 });
      const first = await runBackup(orchestrator, app.id);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // the next backup gets a later name
      const second = await runBackup(orchestrator, app.id);
      expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
      expect((await orchestrator.api.get(`/api/runs/${first.id}`).expect(200)).body.backupRemovedAt).not.toBeNull();
      expect((await orchestrator.api.get(`/api/runs/${second.id}`).expect(200)).body.backupRemovedAt).toBeNull();
    } finally {
      await contract.close();
    }
  });
});
