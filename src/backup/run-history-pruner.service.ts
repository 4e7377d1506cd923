import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppsService } from '../apps/apps.service';
import { forEachInSlices } from '../common/slices';
import { AppConfig } from '../config/app-config';
import { Dialect } from '../database/dialect';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Rows per statement: each batch is a few milliseconds, so runs and requests never wait long behind it. */
const BATCH = 200;

/**
 * Runs that pruning never deletes: unfinished ones, every successful backup whose file retention has not
 * deleted (restore and verify need its recorded checksum), and each app's newest successful backup.
 */
const PROTECTED = `(
  run.status IN ('queued', 'running')
  OR (run.kind = 'backup' AND run.status IN ('succeeded', 'partial') AND run."backupRemovedAt" IS NULL)
  OR run.id = (SELECT MAX(id) FROM runs WHERE "appId" = run."appId" AND kind = 'backup' AND status IN ('succeeded', 'partial'))
)`;

export interface PruneResult {
  deleted: number;
  logsEmptied: number;
}

/**
 * Keeps the history bounded: runs older than RUN_HISTORY_DAYS, beyond RUN_HISTORY_MAX per app, or of
 * deleted apps go (but for the protected ones); logs older than RUN_LOG_DAYS are emptied. At boot and
 * daily, in small batches that yield to the event loop, then freed pages are given back to the disk.
 */
@Injectable()
export class RunHistoryPruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RunHistoryPruner.name);
  private timer?: NodeJS.Timeout;
  private pass: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly sql: Dialect;

  constructor(
    private readonly config: AppConfig,
    dataSource: DataSource,
    apps: AppsService,
  ) {
    this.sql = new Dialect(dataSource);
    // The runs of a deleted app go with it, without waiting for the daily pass.
    apps.onChange((change) => change.kind === 'removed' && this.prunePassively());
  }

  onApplicationBootstrap(): void {
    this.prunePassively();
    this.timer = setInterval(() => this.prunePassively(), DAY_MS).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.pass;
  }

  /** One pass over the history. Passes never overlap: a new one waits for the one under way. */
  prune(now = new Date()): Promise<PruneResult> {
    const pass = this.pass.then(() => this.prunePass(now));
    this.pass = pass.catch(() => undefined);
    return pass;
  }

  private prunePassively(): void {
    this.prune().catch((error: Error) => this.logger.error(`pruning the run history failed: ${error.message}`));
  }

  private async prunePass(now: Date): Promise<PruneResult> {
    const { maxAgeDays, maxRunsPerApp, logDays } = this.config.history;
    let deleted = await this.deleteRunsOfDeletedApps();
    deleted += await this.deleteInBatches(
      `SELECT run.id FROM runs run WHERE run."queuedAt" < ? AND NOT ${PROTECTED} ORDER BY run."queuedAt" LIMIT ${BATCH}`,
      [this.sql.date(new Date(now.getTime() - maxAgeDays * DAY_MS))],
    );
    const apps = await this.sql.query<{ id: number }[]>('SELECT id FROM apps');
    // SQLite takes no OFFSET without a LIMIT, PostgreSQL no negative LIMIT.
    const beyond = this.sql.postgres ? 'OFFSET ?' : 'LIMIT -1 OFFSET ?';
    // A query per app, most finding nothing (and so not yielding): 10 000 apps would hold the event loop for seconds.
    await forEachInSlices(apps, async ({ id }) => {
      deleted += await this.deleteInBatches(
        `SELECT run.id FROM runs run WHERE run.id IN (SELECT id FROM runs WHERE "appId" = ? ORDER BY id DESC ${beyond}) AND NOT ${PROTECTED} LIMIT ${BATCH}`,
        [id, maxRunsPerApp],
      );
    }, () => this.stopped);
    const logsEmptied = await this.emptyOldLogs(new Date(now.getTime() - logDays * DAY_MS));
    if (deleted + logsEmptied > 0) {
      this.logger.log(`run history pruned: ${deleted} runs deleted, ${logsEmptied} logs emptied`);
      if (!this.sql.postgres) await this.releaseFreePages();
    }
    return { deleted, logsEmptied };
  }

  /** Apps that are gone, found by hopping the appId index from one distinct value to the next (no pass over runs). */
  private async deleteRunsOfDeletedApps(): Promise<number> {
    const orphans = await this.sql.query<{ appId: number }[]>(`
      WITH RECURSIVE ids("appId") AS (
        SELECT MIN("appId") FROM runs
        UNION ALL SELECT (SELECT MIN("appId") FROM runs WHERE "appId" > ids."appId") FROM ids WHERE ids."appId" IS NOT NULL
      )
      SELECT "appId" FROM ids WHERE "appId" IS NOT NULL AND "appId" NOT IN (SELECT id FROM apps)`);
    let deleted = 0;
    for (const { appId } of orphans) {
      deleted += await this.deleteInBatches(`SELECT id FROM runs WHERE "appId" = ? AND status NOT IN ('queued', 'running') LIMIT ${BATCH}`, [appId]);
    }
    return deleted;
  }

  private deleteInBatches(selectIds: string, parameters: unknown[]): Promise<number> {
    return this.inBatches(selectIds, parameters, 'DELETE FROM runs');
  }

  private emptyOldLogs(before: Date): Promise<number> {
    return this.inBatches(
      `SELECT id FROM runs WHERE log != '' AND "queuedAt" < ? AND status NOT IN ('queued', 'running') LIMIT ${BATCH}`,
      [this.sql.date(before)],
      "UPDATE runs SET log = ''",
    );
  }

  /** Applies `change` ("DELETE FROM runs", "UPDATE runs SET …") to the rows `selectIds` finds, a batch at a time, until it finds none. */
  private async inBatches(selectIds: string, parameters: unknown[], change: string): Promise<number> {
    let total = 0;
    while (!this.stopped) {
      const ids = (await this.sql.query<{ id: number }[]>(selectIds, parameters)).map((row) => row.id);
      if (ids.length === 0) break;
      await this.sql.query(`${change} WHERE id IN (${this.sql.idsTable})`, [this.sql.idList(ids)]);
      total += ids.length;
      await yieldToEventLoop();
    }
    return total;
  }

  /** SQLite: gives freed pages back to the file system, a few at a time (a no-op on files made before auto_vacuum was set). PostgreSQL's autovacuum does it. */
  private async releaseFreePages(): Promise<void> {
    while (!this.stopped) {
      const [{ freelist_count: free }] = await this.sql.query<{ freelist_count: number }[]>('PRAGMA freelist_count');
      if (free === 0) break;
      await this.sql.query('PRAGMA incremental_vacuum(2000)');
      const [{ freelist_count: after }] = await this.sql.query<{ freelist_count: number }[]>('PRAGMA freelist_count');
      if (after === free) break;
      await yieldToEventLoop();
    }
  }
}
