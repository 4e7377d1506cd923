import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, Repository } from 'typeorm';
import type { AppEntity } from '../apps/app.entity';
import { AppsService } from '../apps/apps.service';
import { RunNotFoundError } from '../common/errors';
import { Cursor, Page, toPage } from '../common/pagination';
import { yieldWhenDue } from '../common/slices';
import { printable } from '../common/printable';
import { AppConfig } from '../config/app-config';
import { Dialect } from '../database/dialect';
import { RunEntity, RunKind, RunStatus, RunTrigger } from './run.entity';
import { AppVersion, recordedAppVersion } from './app-version';
import { CopyStatus, RunDestinationEntity } from './run-destination.entity';
import { english, MessageKey } from '../common/i18n';
import { inRun } from '../common/run-context';

/** What happens to runs, for those who report it (metrics, notifications, pings). */
export type RunEvent =
  | { kind: 'started'; run: RunEntity }
  | { kind: 'finished'; run: RunEntity; copies?: CopyResult[] }
  | { kind: 'deleted'; run: RunEntity; name: string; destination: string };

/**
 * The longest log line or error kept. Lines quote apps and rclone (whose stderr tail is 2 KB); every one
 * is escaped to a single line, so no text from outside can forge an entry (see printable()).
 */
const MAX_LINE = 4096;
/** keptBytes() reads this many apps at a time, yielding when due. */
const KEPT_PAGE = 250;
/** Cluster mode: how often a running run's byte count is written for the other replicas (they show it at least once a second). */
const PROGRESS_WRITE_MS = 500;

/** What a cancelled run that had started left behind, by kind (its last log line). */
const CANCELLED_EFFECT: Record<RunKind, MessageKey> = {
  backup: 'log.cancelledEffect.backup',
  restore: 'log.cancelledEffect.restore',
  verify: 'log.cancelledEffect.verify',
  drill: 'log.cancelledEffect.drill',
};

/** What a listing needs of an app's history: its newest run and newest success, never a log. */
export interface RunActivity {
  lastRun: Pick<RunEntity, 'id' | 'status' | 'startedAt' | 'finishedAt' | 'bytes'> | null;
  lastSuccessAt: Date | null;
}

export interface RunFilters {
  status?: RunStatus;
  kind?: RunKind;
  trigger?: RunTrigger;
  appId?: number;
  before?: number;
}

export interface FailedVerification {
  id: number;
  name: string;
  /** The newest backup, which failed. */
  backup: string;
  runId: number;
  verifiedAt: Date;
}

export interface RunOutcome {
  /** A backup stored in some destinations but not all is `partial`; default `succeeded`. */
  status?: 'succeeded' | 'partial';
  /** For a partial one: which copies failed and why. */
  error?: string | null;
  bytes: number;
  sha256: string;
  remotePath: string;
  backupName: string;
  /** A backup made through crypt: its passphrase, sealed (see RunEntity). */
  encryptionPassphraseEncrypted?: string | null;
  /** A backup: what the app reported of its version (see appVersionColumns). */
  appReportedName?: string | null;
  appVersion?: string | null;
  appSchemaVersion?: string | null;
  /** A drill: its selftest answer, as JSON. */
  selftest?: string | null;
}

/** One copy of a backup run, in one destination (see RunDestinationEntity). */
export interface CopyResult {
  destinationId: number;
  destination: string;
  position: number;
  status: CopyStatus;
  backupName: string | null;
  remotePath: string | null;
  bytes: number;
  error: string | null;
  encryptionPassphraseEncrypted: string | null;
}

/**
 * A recorded copy of a backup, as a read needs it: the run's checksum and the app's version it recorded, with the
 * copy's own passphrase.
 */
export interface RecordedCopy extends Pick<RunEntity, 'bytes' | 'sha256' | 'appReportedName' | 'appVersion' | 'appSchemaVersion'> {
  encryptionPassphraseEncrypted: string | null;
}

/** Run history: what happened, step by step, kept in the database; live byte counts kept in memory (and, in a cluster, written for the other replicas). */
@Injectable()
export class RunsService {
  private readonly logger = new Logger(RunsService.name);
  /** Bytes received so far by each running run; written to the row when the run ends. */
  private readonly liveBytes = new Map<number, number>();
  /** Log lines the database refused, by run id, until they can be written. */
  private readonly unsavedLog = new Map<number, string>();
  private readonly listeners: ((event: RunEvent) => void)[] = [];
  /** A backup run's copies, from recordCopies until its end is reported with them. */
  private readonly copiesRecorded = new Map<number, CopyResult[]>();
  /** Copies the database refused, by run id, until they can be written. */
  private readonly unsavedCopies = new Map<number, CopyResult[]>();
  private readonly sql: Dialect;
  /** Cluster mode: when each running run's byte count was last written, for the pages of the other replicas. */
  private readonly bytesWritten = new Map<number, number>();
  private readonly shareProgress: boolean;

  constructor(
    @InjectRepository(RunEntity) private readonly runs: Repository<RunEntity>,
    @InjectRepository(RunDestinationEntity) private readonly copies: Repository<RunDestinationEntity>,
    private readonly apps: AppsService,
    config: AppConfig,
  ) {
    this.sql = new Dialect(runs.manager.connection);
    this.shareProgress = config.databaseUrl !== null;
  }

  onEvent(listener: (event: RunEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(event: RunEvent): void {
    if (event.kind === 'finished') {
      event.copies = this.copiesRecorded.get(event.run.id);
      this.copiesRecorded.delete(event.run.id);
    }
    for (const listener of this.listeners) listener(event);
  }

  async get(id: number): Promise<RunEntity> {
    const run = await this.runs.findOneBy({ id });
    if (!run) throw new RunNotFoundError(id);
    return this.withLiveBytes(run);
  }

  /**
   * A page of the app's runs, newest first, keyset on id (`after` a run: older ones); AppNotFoundError for an
   * app that does not exist (any more).
   */
  async listForApp(appId: number, limit: number, cursor: Cursor | null = null): Promise<Page<RunEntity>> {
    await this.apps.get(appId);
    const older = cursor?.direction !== 'before';
    const query = this.runs.createQueryBuilder('run').where('run.appId = :appId', { appId })
      .orderBy('run.id', older ? 'DESC' : 'ASC').take(limit + 1);
    if (cursor) query.andWhere(`run.id ${older ? '<' : '>'} :key`, { key: Number(cursor.key) });
    const page = toPage(await query.getMany(), limit, cursor, (run) => String(run.id));
    return { ...page, items: page.items.map((run) => this.withLiveBytes(run)) };
  }

  /**
   * Every run matching the filters, newest first, at most `limit`, below the id `before`; `next` is the id to
   * continue below, or null on the last page. `id < before` (unbounded by default) keeps even the unfiltered
   * list an index search: each filter has an index that ends in the rowid (see RunListIndexes).
   */
  async list(filters: RunFilters, limit: number): Promise<{ items: RunEntity[]; next: number | null }> {
    const query = this.runs.createQueryBuilder('run').where('run.id < :before', { before: Math.min(filters.before ?? this.sql.maxId, this.sql.maxId) });
    for (const field of ['status', 'kind', 'trigger', 'appId'] as const) {
      if (filters[field] !== undefined) query.andWhere(`run.${field} = :${field}`, { [field]: filters[field] });
    }
    const rows = await query.orderBy('run.id', 'DESC').take(limit + 1).getMany();
    const items = rows.slice(0, limit).map((run) => this.withLiveBytes(run));
    return { items, next: rows.length > limit ? items[items.length - 1].id : null };
  }

  queue(app: AppEntity, trigger: RunTrigger, kind: RunKind = 'backup', backupName: string | null = null, destinationId: number | null = null): Promise<RunEntity> {
    return this.runs.save(this.runs.create({ appId: app.id, appName: app.name, kind, backupName, destinationId, trigger, status: 'queued', queuedAt: new Date() }));
  }

  /** The stored copy of this file in this destination: the size and SHA-256 its run recorded, and its passphrase. */
  async madeBy(appId: number, backupName: string, destinationId: number): Promise<RecordedCopy | null> {
    const copy = await this.copies.createQueryBuilder('copy').addSelect('copy.encryptionPassphraseEncrypted')
      .where({ appId, backupName, destinationId, status: 'succeeded' }).orderBy('copy.id', 'DESC').getOne();
    if (!copy) return null;
    const run = await this.runs.findOne({
      select: { id: true, sha256: true, bytes: true, appReportedName: true, appVersion: true, appSchemaVersion: true },
      where: { id: copy.runId },
    });
    return run && { ...run, encryptionPassphraseEncrypted: copy.encryptionPassphraseEncrypted };
  }

  /** Names of the app's backups in this destination that runs recorded as stored and retention has not deleted. */
  async recordedBackupNames(appId: number, destinationId: number): Promise<Set<string>> {
    const copies = await this.copies.find({ select: { backupName: true }, where: { appId, destinationId, status: 'succeeded', backupRemovedAt: IsNull() } });
    return new Set(copies.flatMap((copy) => (copy.backupName ? [copy.backupName] : [])));
  }

  /** What the app reported of its version when each of its backups was made, by file name (every destination's). */
  async reportedVersions(appId: number): Promise<Map<string, AppVersion | null>> {
    const runs = await this.runs.find({
      select: { backupName: true, appReportedName: true, appVersion: true, appSchemaVersion: true },
      where: { appId, kind: 'backup', status: In(['succeeded', 'partial']), backupRemovedAt: IsNull() },
    });
    return new Map(runs.flatMap((run) => (run.backupName ? [[run.backupName, recordedAppVersion(run)] as const] : [])));
  }

  async newestBackupName(appId: number, destinationId: number): Promise<string | null> {
    const copy = await this.copies.findOne({ where: { appId, destinationId, status: 'succeeded' }, order: { id: 'DESC' } });
    return copy?.backupName ?? null;
  }

  /** The latest verification of each of the app's backup files in this destination, by file name. */
  async verifications(appId: number, destinationId: number): Promise<Map<string, RunEntity>> {
    const runs = await this.runs.find({ where: { appId, destinationId, kind: 'verify', status: In(['succeeded', 'failed']) }, order: { id: 'ASC' } });
    return new Map(runs.map((run) => [run.backupName!, run]));
  }

  /**
   * Records what became of each of a backup run's copies. Copies the database refuses (full disk) wait in
   * memory and are written with the run's outcome, which the runner tries again until it is stored.
   */
  async recordCopies(run: RunEntity, copies: CopyResult[]): Promise<void> {
    if (copies.length === 0) return;
    this.copiesRecorded.set(run.id, copies);
    this.unsavedCopies.set(run.id, copies);
    await this.writeCopies(run);
  }

  private async writeCopies(run: RunEntity): Promise<void> {
    const copies = this.unsavedCopies.get(run.id);
    if (!copies) return;
    await this.copies.insert(copies.map((copy) => ({ ...copy, runId: run.id, appId: run.appId, error: copy.error === null ? null : printable(copy.error, MAX_LINE) })));
    this.unsavedCopies.delete(run.id);
  }

  /** The copies of these runs, by run id, in destination order. */
  async copiesOf(runIds: number[]): Promise<Map<number, RunDestinationEntity[]>> {
    const result = new Map<number, RunDestinationEntity[]>(runIds.map((id) => [id, []]));
    if (runIds.length === 0) return result;
    for (const copy of await this.copies.find({ where: { runId: In(runIds) }, order: { runId: 'ASC', position: 'ASC' } })) result.get(copy.runId)?.push(copy);
    return result;
  }

  /** A firing that could not start because the app was busy: recorded, never silently dropped. */
  async skip(app: AppEntity, trigger: RunTrigger, reason: string, kind: RunKind = 'backup'): Promise<RunEntity> {
    const now = new Date();
    const run = await this.runs.save(
      this.runs.create({ appId: app.id, appName: app.name, kind, trigger, status: 'skipped', queuedAt: now, startedAt: now, finishedAt: now, error: reason }),
    );
    this.logFor(run, 'warn', `run ${run.id} of ${app.name} skipped: ${reason}`);
    this.emit({ kind: 'finished', run });
    return run;
  }

  /** A queued run withdrawn before it started (see BackupRunner): skipped, with the reason. */
  async withdraw(run: RunEntity, reason: string): Promise<void> {
    const now = new Date();
    await this.finish(run, { status: 'skipped', startedAt: now, finishedAt: now, error: reason });
    this.logger.warn(`run ${run.id} of ${run.appName} withdrawn: ${reason}`);
    this.emit({ kind: 'finished', run });
  }

  async start(run: RunEntity): Promise<void> {
    run.status = 'running';
    run.startedAt = new Date();
    this.liveBytes.set(run.id, 0);
    await this.runs.update(run.id, { status: run.status, startedAt: run.startedAt });
    this.logFor(run, 'log', `run ${run.id} of ${run.appName} started (${run.trigger})`);
    this.emit({ kind: 'started', run });
  }

  progress(runId: number, bytes: number): void {
    this.liveBytes.set(runId, bytes);
    if (this.shareProgress) this.writeProgress(runId, bytes);
  }

  /**
   * Cluster mode: the other replicas read a run's bytes from its row (this one from memory), written at most every
   * PROGRESS_WRITE_MS so that they show it live (and its rate: bytes over time since it started) at least once a second.
   */
  private writeProgress(runId: number, bytes: number): void {
    const now = Date.now();
    if (now - (this.bytesWritten.get(runId) ?? 0) < PROGRESS_WRITE_MS) return;
    this.bytesWritten.set(runId, now);
    this.runs.update({ id: runId, status: 'running' }, { bytes }).catch((error: Error) => this.logger.warn(`could not share the progress of run ${runId}: ${error.message}`));
  }

  /**
   * Fails a run unless it has ended in the meantime (another replica may have been first): the run when this call
   * failed it, else null.
   */
  async failIfUnfinished(id: number, reason: string): Promise<RunEntity | null> {
    const error = printable(reason, MAX_LINE);
    const line = `${new Date().toISOString()} ${error}\n`;
    const result = await this.runs.createQueryBuilder().update().set({ status: 'failed', finishedAt: new Date(), error, log: () => 'log || :line' })
      .setParameter('line', line).where('id = :id', { id }).andWhere('status IN (:...open)', { open: ['queued', 'running'] }).execute();
    if (!result.affected) return null;
    const run = await this.get(id);
    this.logFor(run, 'error', `run ${run.id} of ${run.appName} failed: ${error}`);
    this.emit({ kind: 'finished', run });
    return run;
  }

  /**
   * Appends a line to the run's log, escaped to one line and cut (apps and rclone supply some of it). A line
   * the database refuses (full disk) does not fail the run: it waits in memory and is written with the outcome.
   */
  async log(run: RunEntity, text: string): Promise<void> {
    const line = printable(text, MAX_LINE);
    const entry = `${new Date().toISOString()} ${line}\n`;
    const unsaved = (this.unsavedLog.get(run.id) ?? '') + entry;
    this.logFor(run, 'log', `run ${run.id} of ${run.appName}: ${line}`);
    try {
      await this.runs.createQueryBuilder().update().set({ log: () => 'log || :unsaved' }).setParameter('unsaved', unsaved)
        .where('id = :id', { id: run.id }).execute();
      this.unsavedLog.delete(run.id);
    } catch (error) {
      this.unsavedLog.set(run.id, unsaved);
      this.logFor(run, 'warn', `could not write to the log of run ${run.id}, kept for later: ${(error as Error).message}`);
    }
  }

  /** Records a success; throws when the database refuses, for the caller to try again. */
  async succeed(run: RunEntity, outcome: RunOutcome): Promise<void> {
    const { status = 'succeeded', ...fields } = outcome;
    await this.finish(run, { status, finishedAt: new Date(), ...fields });
    this.logFor(run, status === 'partial' ? 'warn' : 'log', `run ${run.id} of ${run.appName} ${status}: ${outcome.bytes} bytes in ${outcome.remotePath}`);
    this.emit({ kind: 'finished', run });
  }

  /** A drill's selftest answer, kept on the run even when the drill then fails. */
  async recordSelftest(run: RunEntity, selftest: string): Promise<void> {
    await this.runs.update(run.id, { selftest });
    run.selftest = selftest;
  }

  /** Records a failure; throws when the database refuses, for the caller to try again. */
  async fail(run: RunEntity, reason: string): Promise<void> {
    const error = printable(reason, MAX_LINE);
    await this.finish(run, { status: 'failed', finishedAt: new Date(), bytes: this.liveBytes.get(run.id) ?? 0, error });
    this.logFor(run, 'error', `run ${run.id} of ${run.appName} failed: ${error}`);
    this.emit({ kind: 'finished', run });
  }

  /**
   * Records a cancellation, which is neither a failure nor a success, with who asked and what it left behind;
   * throws when the database refuses, for the caller to try again.
   */
  async cancel(run: RunEntity, by: string): Promise<void> {
    const bytes = this.liveBytes.get(run.id) ?? 0;
    const line = run.startedAt
      ? english('log.cancelled', { by, bytes, effect: english(CANCELLED_EFFECT[run.kind]) })
      : english('log.cancelledBeforeStart', { by });
    await this.finish(run, { status: 'cancelled', finishedAt: new Date(), bytes }, line);
    this.logger.log(`run ${run.id} of ${run.appName} ${line}`);
    this.emit({ kind: 'finished', run });
  }

  /**
   * Writes the end of a run, with the log lines that could not be written before and its last line; memory is
   * freed only once it is stored.
   */
  private async finish(run: RunEntity, fields: Partial<RunEntity>, lastLine?: string): Promise<void> {
    await this.writeCopies(run);
    const last = lastLine === undefined ? '' : `${new Date().toISOString()} ${printable(lastLine, MAX_LINE)}\n`;
    // Only an unfinished run ends: in a cluster, a replica cut off from the database for longer than its lease
    // finds its run failed "replica lost" by another when it comes back, and that outcome stands.
    const { affected } = await this.runs.createQueryBuilder().update().set({ ...fields, log: () => 'log || :unsaved' })
      .setParameter('unsaved', (this.unsavedLog.get(run.id) ?? '') + last).where('id = :id', { id: run.id })
      .andWhere('status IN (:...open)', { open: ['queued', 'running'] }).execute();
    if (affected === 0) this.logger.warn(`run ${run.id} of ${run.appName} had already ended elsewhere (${fields.status} not recorded)`);
    Object.assign(run, fields);
    this.liveBytes.delete(run.id);
    this.bytesWritten.delete(run.id);
    this.unsavedLog.delete(run.id);
  }

  /** Also outside the run's own work (a skip, a restart, a firing it serves), its lines carry its app and id. */
  private logFor(run: RunEntity, level: 'log' | 'warn' | 'error', message: string): void {
    inRun(run, () => this.logger[level](message));
  }

  /** Retention removed one of the app's backups. */
  async deleted(run: RunEntity, name: string, destinationId: number, destination: string): Promise<void> {
    const now = new Date();
    await this.copies.update({ appId: run.appId, backupName: name, destinationId, status: 'succeeded', backupRemovedAt: IsNull() }, { backupRemovedAt: now });
    // Once no copy is left anywhere, the run that made the file holds a checksum nobody needs: pruning may take it.
    const left = await this.copies.countBy({ appId: run.appId, backupName: name, status: 'succeeded', backupRemovedAt: IsNull() });
    if (left === 0) {
      await this.runs.update({ appId: run.appId, backupName: name, kind: 'backup', status: In(['succeeded', 'partial']), backupRemovedAt: IsNull() }, { backupRemovedAt: now });
    }
    await this.log(run, english('log.retentionDeleted', { name }));
    this.emit({ kind: 'deleted', run, name, destination });
  }

  /** A run that could not even start (the app vanished, the service is stopping): recorded as failed. */
  async failToStart(app: Pick<AppEntity, 'id' | 'name'>, trigger: RunTrigger, reason: string, kind: RunKind = 'backup'): Promise<RunEntity> {
    const now = new Date();
    const run = await this.runs.save(
      this.runs.create({ appId: app.id, appName: app.name, kind, trigger, status: 'failed', queuedAt: now, finishedAt: now, error: english('failure.step.start', { reason }) }),
    );
    this.logFor(run, 'error', `run ${run.id} of ${app.name} could not start: ${reason}`);
    this.emit({ kind: 'finished', run });
    return run;
  }

  /** Of each app: its newest run of any kind and when its newest successful backup finished; two index seeks per app. */
  async activityOf(appIds: number[]): Promise<Map<number, RunActivity>> {
    type Row = { appId: number; id: number | null; status: RunEntity['status']; startedAt: string | null; finishedAt: string | null; bytes: number; lastSuccessAt: string | null };
    const rows = await this.sql.query<Row[]>(
      `SELECT app.id AS "appId", last.id, last.status, last."startedAt", last."finishedAt", last.bytes, success."finishedAt" AS "lastSuccessAt"
       FROM (${this.sql.idsTable}) app
       LEFT JOIN runs last ON last.id = (SELECT MAX(id) FROM runs WHERE "appId" = app.id)
       LEFT JOIN runs success ON success.id = (SELECT MAX(id) FROM runs WHERE "appId" = app.id AND kind = 'backup' AND status IN ('succeeded', 'partial'))`,
      [this.sql.idList(appIds)],
    );
    const date = (value: string | null) => this.sql.dateOf(value);
    return new Map(rows.map((row) => [row.appId, {
      lastRun: row.id === null ? null : {
        id: row.id, status: row.status, startedAt: date(row.startedAt), finishedAt: date(row.finishedAt), bytes: this.liveBytes.get(row.id) ?? row.bytes,
      },
      lastSuccessAt: date(row.lastSuccessAt),
    }]));
  }

  /** Apps with a run queued or running: a seek in the status index, whatever the history's size. */
  async activeApps(): Promise<Set<number>> {
    const rows = await this.sql.query<{ appId: number }[]>(`SELECT DISTINCT "appId" FROM runs WHERE status IN ('queued', 'running')`);
    return new Set(rows.map((row) => row.appId));
  }

  /**
   * The newest successful backup of every registered app: only what the metrics show of it, read raw (hydrating
   * thousands of full rows, logs included, cost a quarter of a second at boot). Restores and verifications do not
   * count: they make no backup.
   */
  async latestSuccessfulBackups(): Promise<Pick<RunEntity, 'appName' | 'finishedAt' | 'bytes'>[]> {
    const rows = await this.sql.query<{ appName: string; finishedAt: string; bytes: number }[]>(
      `SELECT run."appName", run."finishedAt", run.bytes FROM apps app
       JOIN runs run ON run.id = (SELECT MAX(id) FROM runs WHERE "appId" = app.id AND kind = 'backup' AND status IN ('succeeded', 'partial'))`,
    );
    return rows.map((row) => ({ appName: row.appName, finishedAt: this.sql.dateOf(row.finishedAt), bytes: row.bytes }));
  }

  /**
   * The newest stored copy of every app in each of its destinations (for backup_destination_last_success_timestamp_seconds):
   * per destination of an app, one seek on IDX_run_destinations_newest.
   */
  async latestSuccessfulCopies(): Promise<{ appName: string; destination: string; finishedAt: Date }[]> {
    const rows = await this.sql.query<{ appName: string; destination: string; finishedAt: string }[]>(
      `SELECT app.name AS "appName", copy.destination AS destination, run."finishedAt" AS "finishedAt" FROM app_destinations link
       JOIN apps app ON app.id = link."appId"
       JOIN run_destinations copy ON copy.id = (SELECT MAX(id) FROM run_destinations
         WHERE "appId" = link."appId" AND "destinationId" = link."destinationId" AND status = 'succeeded')
       JOIN runs run ON run.id = copy."runId"
       WHERE run."finishedAt" IS NOT NULL`,
    );
    return rows.map((row) => ({ ...row, finishedAt: this.sql.dateOf(row.finishedAt) }));
  }

  /** The newest finished verification (passed or failed) of each of these apps: its last verification, shown beside its last backup. */
  latestVerifications(appIds: number[]): Promise<Map<number, RunEntity>> {
    return this.newestPerApp(`AND kind = 'verify' AND status IN ('succeeded', 'failed')`, appIds);
  }

  /** The newest successful drill of each registered app (for backup_last_drill_success_timestamp_seconds), or of these. */
  latestSuccessfulDrills(appIds?: number[]): Promise<Map<number, RunEntity>> {
    return this.newestPerApp(`AND kind = 'drill' AND status = 'succeeded'`, appIds);
  }

  /** The newest successful verification of each registered app (for backup_last_verified_timestamp_seconds). */
  latestSuccessfulVerifications(): Promise<Map<number, RunEntity>> {
    return this.newestPerApp(`AND kind = 'verify' AND status = 'succeeded'`);
  }

  /**
   * Apps whose newest successful backup failed its latest verification, in name order: a stored copy nobody
   * could restore. Per app, a seek for its newest backup and one on (appId, backupName) for that file's runs.
   */
  async failedVerifications(): Promise<FailedVerification[]> {
    // SQLite's planner needs the hint; PostgreSQL has no such clause and finds the index itself.
    const indexed = this.sql.postgres ? '' : 'INDEXED BY "IDX_runs_app_backupName"';
    const rows = await this.sql.query<{ id: number; name: string; backup: string; runId: number; verifiedAt: string }[]>(
      `SELECT app.id AS id, app.name AS name, newest."backupName" AS backup, checked.id AS "runId", checked."finishedAt" AS "verifiedAt"
       FROM apps app
       JOIN runs newest ON newest.id = (SELECT MAX(id) FROM runs WHERE "appId" = app.id AND kind = 'backup' AND status IN ('succeeded', 'partial'))
       JOIN runs checked ON checked.id = (SELECT MAX(id) FROM runs ${indexed}
         WHERE "appId" = app.id AND "backupName" = newest."backupName" AND kind = 'verify' AND status IN ('succeeded', 'failed'))
       WHERE checked.status = 'failed'
       ORDER BY app.name`,
    );
    return rows.map((row) => ({ ...row, verifiedAt: this.sql.dateOf(row.verifiedAt) }));
  }

  /** The newest run of this kind of each of these apps, whatever its outcome: what a row shows as "last backup". */
  latestOfKind(kind: RunKind, appIds: number[]): Promise<Map<number, RunEntity>> {
    return this.newestPerApp(`AND kind = '${kind}'`, appIds);
  }

  /** One index seek per app (MAX(id) under an index that starts with appId), never a pass over the history. */
  private async newestPerApp(filter: string, appIds?: number[]): Promise<Map<number, RunEntity>> {
    if (appIds?.length === 0) return new Map();
    const apps = appIds ? this.sql.idsTableNamed('appIds') : 'SELECT id FROM apps';
    const latest = await this.runs
      .createQueryBuilder('run')
      .where(`run.id IN (SELECT (SELECT MAX(id) FROM runs WHERE "appId" = app.id ${filter}) FROM (${apps}) app)`, { appIds: this.sql.idList(appIds ?? []) })
      .getMany();
    return new Map(latest.map((run) => [run.appId, this.withLiveBytes(run)]));
  }

  /** When each registered app's latest scheduled run was queued, for catching up missed firings. */
  async lastScheduledRunTimes(): Promise<Map<number, Date>> {
    const rows = await this.sql.query<{ appId: number; queuedAt: string }[]>(
      `SELECT app.id AS "appId", run."queuedAt" AS "queuedAt" FROM apps app
       JOIN runs run ON run.id = (SELECT MAX(id) FROM runs WHERE "appId" = app.id AND "trigger" = 'schedule')`,
    );
    return new Map(rows.map((row) => [row.appId, this.sql.dateOf(row.queuedAt)]));
  }

  /**
   * Runs and failures since `since`, for the dashboard summary: one range of the queuedAt index (counting
   * failures through the status index instead read every failure ever recorded).
   */
  async countSince(since: Date): Promise<{ runs: number; failures: number }> {
    const [row] = await this.sql.query<{ runs: number; failures: number | null }[]>(
      `SELECT COUNT(*) AS runs, SUM(CASE WHEN status IN ('failed', 'partial') THEN 1 ELSE 0 END) AS failures FROM runs WHERE "queuedAt" >= ?`,
      [this.sql.date(since)],
    );
    return { runs: Number(row.runs), failures: Number(row.failures ?? 0) };
  }

  /**
   * Bytes of the backups retention keeps, by the run history (no remote listing needed): per app, its
   * successful backups whose file retention has not deleted, at most as many as its rules can keep
   * (`retention` plus each calendar rule's count). Apps are read a page at a time, yielding between pages; in
   * a page, one query per distinct bound (SQLite's LIMIT cannot read the app's row), an index seek per app
   * reading at most that many runs.
   */
  async keptBytes(): Promise<number> {
    const kept = 'retention + "keepDaily" + "keepWeekly" + "keepMonthly" + "keepYearly"';
    let total = 0;
    for (let after = 0; ; ) {
      const apps = await this.sql.query<{ id: number; bound: number }[]>(`SELECT id, ${kept} AS bound FROM apps WHERE id > ? ORDER BY id LIMIT ?`, [after, KEPT_PAGE]);
      for (const bound of new Set(apps.map((app) => app.bound))) {
        const ids = apps.filter((app) => app.bound === bound).map((app) => app.id);
        const [row] = await this.sql.query<{ total: number | string }[]>(
          `SELECT COALESCE(SUM((SELECT SUM(bytes) FROM (SELECT bytes FROM runs WHERE "appId" = app.id AND kind = 'backup' AND status IN ('succeeded', 'partial')
             AND "backupRemovedAt" IS NULL ORDER BY id DESC LIMIT ?) kept)), 0) AS total
           FROM (${this.sql.idsTable}) app`,
          [bound, this.sql.idList(ids)],
        );
        total += Number(row.total);
      }
      if (apps.length < KEPT_PAGE) return total;
      after = apps[apps.length - 1].id;
      // better-sqlite3 answers synchronously: without a real yield, the pages would not let anybody in.
      await yieldWhenDue();
    }
  }

  /** Runs a previous process left unfinished. */
  unfinished(): Promise<RunEntity[]> {
    return this.runs.findBy({ status: In(['queued', 'running']) });
  }

  private withLiveBytes(run: RunEntity): RunEntity {
    const bytes = this.liveBytes.get(run.id);
    return bytes === undefined ? run : Object.assign(run, { bytes });
  }
}
