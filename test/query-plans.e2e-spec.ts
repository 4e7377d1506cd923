import Database from 'better-sqlite3';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunHistoryPruner } from '../src/backup/run-history-pruner.service';
import { RunsService } from '../src/backup/runs.service';
import { registerApp } from './support/backups';
import { ADMIN, bootOrchestrator, Orchestrator } from './support/orchestrator';

/** Every statement the service prepares, recorded from the boot on (better-sqlite3 is loaded once per test file). */
const prepared = new Set<string>();
const prepare = Database.prototype.prepare;
Database.prototype.prepare = function (this: Database.Database, sql: string) {
  prepared.add(sql);
  return prepare.call(this, sql);
} as typeof prepare;

/** The names a query can give the runs table (and the copies of runs): its own, and the aliases TypeORM and the services use. */
const RUNS_SCAN = /^SCAN (runs|run|RunEntity|run_destinations|copy)\b/;

/** A history of a few thousand runs over the apps, written straight into the file as years of runs would be. */
function seedHistory(databasePath: string, appIds: number[], perApp: number): void {
  const db = new Database(databasePath);
  const insert = db.prepare(`INSERT INTO runs (appId, appName, kind, "trigger", status, queuedAt, startedAt, finishedAt, bytes, sha256, backupName, log)
    VALUES (?, 'app', ?, 'schedule', ?, datetime('now', ?), datetime('now', ?), datetime('now', ?), 10, ?, ?, 'line')`);
  db.transaction(() => {
    for (let n = perApp; n > 0; n--) {
      for (const appId of appIds) {
        const age = `-${n} hours`;
        insert.run(appId, n % 10 === 0 ? 'verify' : 'backup', n % 7 === 0 ? 'failed' : 'succeeded', age, age, age, 'ab'.repeat(32), `app-${n}.db`);
      }
    }
  })();
  db.close();
}

describe('the queries behind pages, API, health, metrics, boot and pruning', () => {
  let orchestrator: Orchestrator;
  let appIds: number[];

  beforeAll(async () => {
    const first = await bootOrchestrator();
    appIds = [];
    for (const name of ['alpha', 'beta', 'gamma']) appIds.push((await registerApp(first, { name, driveFolderId: name })).id);
    await first.close();
    seedHistory(first.config.databasePath, appIds, 2000);
    prepared.clear();
    orchestrator = await bootOrchestrator({ DATA_DIR: first.dataDir, CATCH_UP_MISSED: 'true' });
  });
  afterAll(() => orchestrator?.close());

  it('look runs up through an index, never by reading the whole history', async () => {
    const server = orchestrator.app.getHttpServer();
    const [id] = appIds;
    const paths = ['/', '/?q=al&status=failed', `/apps/${id}`, '/api/apps', '/api/apps?limit=1&q=a', '/api/apps?status=stale', '/api/apps?status=running',
      `/api/apps/${id}`, `/api/apps/${id}/runs`, `/api/apps/${id}/backups`, '/api/health', '/metrics',
      '/api/runs', '/api/runs?limit=5&before=100', '/api/runs?status=failed', '/api/runs?kind=verify', '/api/runs?trigger=manual', `/api/runs?appId=${id}`,
      '/api/runs?status=failed&kind=backup&trigger=schedule&appId=1', '/runs', '/runs?status=failed&kind=backup'];
    const browser = await orchestrator.pages();
    for (const path of paths) await (path.startsWith('/api') || path === '/metrics' ? request(server).get(path).auth(ADMIN.user, ADMIN.password) : browser.get(path)).expect(200);
    const runs = await orchestrator.api.get(`/api/apps/${id}/runs?limit=5`).expect(200);
    const [newest] = runs.body;
    const older = /<([^>]+)>; rel="next"/.exec(runs.headers.link)![1];
    const newer = /<([^>]+)>; rel="prev"/.exec((await orchestrator.api.get(older).expect(200)).headers.link)![1];
    await orchestrator.api.get(newer).expect(200);
    await orchestrator.api.get(`/api/runs/${newest.id}`).expect(200);
    await orchestrator.app.get(RunsService).lastScheduledRunTimes();
    await orchestrator.app.get(RunHistoryPruner).prune();

    const db = new Database(orchestrator.config.databasePath, { readonly: true });
    try {
      const aboutRuns = [...prepared].filter((sql) => /\bruns\b/.test(sql) && /^\s*(SELECT|WITH)/i.test(sql));
      expect(aboutRuns.length).toBeGreaterThan(8);
      const scans = aboutRuns.flatMap((sql) => {
        const parameters = Array.from(sql.match(/\?/g) ?? [], () => null);
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as { detail: string }[];
        return plan.filter((step) => RUNS_SCAN.test(step.detail)).map((step) => `${step.detail} in: ${sql}`);
      });
      expect(scans).toEqual([]);
      // A filtered run list that walks the ids down reads every run that does not match on the way: each filter needs an index ending in the id.
      const walks = aboutRuns.filter((sql) => /"run"\."(status|kind|trigger|appId)" = \?/.test(sql)).flatMap((sql) => {
        const parameters = Array.from(sql.match(/\?/g) ?? [], () => null);
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as { detail: string }[];
        return plan.filter((step) => /USING INTEGER PRIMARY KEY/.test(step.detail)).map((step) => `${step.detail} in: ${sql}`);
      });
      expect(walks).toEqual([]);
    } finally {
      db.close();
    }
  });
});
