import { setTimeout as sleep } from 'node:timers/promises';
import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { AppEntity } from '../apps/app.entity';
import { AppsService } from '../apps/apps.service';
import { RunInProgressError, RunNotCancellableError, ShuttingDownError } from '../common/errors';
import { printable } from '../common/printable';
import { AppConfig } from '../config/app-config';
import { BackupFailure } from './backup-failure';
import { BackupJob } from './backup-job.service';
import { ConcurrencyLimit } from './concurrency-limit';
import type { RunEntity, RunKind, RunTrigger } from './run.entity';
import { RunOutcome, RunsService } from './runs.service';
import { StoredBackups } from './stored-backups.service';
import { RestoreDrill } from './restore-drill.service';
import { english } from '../common/i18n';
import { inRun } from '../common/run-context';
import { ReplicaLeases } from '../cluster/replica-leases.service';
import { AppChangeRelay } from '../cluster/app-change-relay.service';
import { violatesUnique } from '../database/dialect';

/** Why a queued scheduled verification was withdrawn before it read anything. */
class GaveWay extends Error {
  constructor() {
    super(english('failure.gaveWay'));
  }
}

const RECORD_RETRY_FIRST_MS = 1000;
const RECORD_RETRY_MAX_MS = 30_000;
/** How long a cancel of another replica's run waits for that replica to record it. */
const CANCEL_ELSEWHERE_MS = 10_000;

/**
 * One run's work. `stop` aborts on shutdown or cancel; `commit` is called once, at the last moment the run can
 * still end without effect (before the rename to the final name, before an import body's end): it throws
 * when the run was stopped, and from then on the run can no longer be cancelled.
 */
type RunWork = (app: AppEntity, run: RunEntity, stop: AbortSignal, commit: () => void) => Promise<RunOutcome>;

interface PreparedRun {
  backupName: string | null;
  /** The destination a restore or verification reads. */
  destinationId?: number;
  work: RunWork;
}

interface ActiveRun {
  /** Set once the run is recorded as queued. */
  run: RunEntity | null;
  kind: RunKind;
  /** It holds a slot of MAX_CONCURRENT_BACKUPS (until then it waits, queued). */
  started: boolean;
  /** Until it commits (see RunWork) or its work ends: a cancel then still ends it with no effect. */
  cancellable: boolean;
  /** Shutdown. */
  stop: AbortController;
  cancel: AbortController;
  finished: Promise<void>;
}

/**
 * A run asked for, as it can travel to a replica of the app's zone (see route): the kind, the app, and what the kind
 * needs (restore: the backup, and whether to force a newer schema; verify and drill: an optional backup).
 */
export interface RunRequest {
  kind: RunKind;
  appId: number;
  trigger: RunTrigger;
  name?: string;
  destination?: string | number;
  force?: boolean;
}

/** Cluster mode: runs a request on a live replica of the zone and resolves with its run's id (see PgBossFiringQueue). */
export type HandOver = (zone: string, request: RunRequest) => Promise<number | null>;

/** Who cancels: every cancel comes from the one admin, through the API or a page. */
const CANCELLED_BY = english('log.byAdmin');

/**
 * Starts runs: one at a time per app, at most MAX_CONCURRENT_BACKUPS at once (the rest wait queued),
 * every outcome recorded. Also cleans up after a previous process and stops runs on shutdown.
 */
@Injectable()
export class BackupRunner implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(BackupRunner.name);
  private readonly active = new Map<number, ActiveRun>();
  private readonly limit: ConcurrencyLimit;
  private closing = false;
  private handOver: HandOver | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly apps: AppsService,
    private readonly runs: RunsService,
    private readonly job: BackupJob,
    private readonly stored: StoredBackups,
    private readonly drill: RestoreDrill,
    private readonly leases: ReplicaLeases,
    private readonly relay: AppChangeRelay,
  ) {
    this.limit = new ConcurrencyLimit(config.backup.maxConcurrent);
    // Another replica was asked to cancel a run of this one.
    relay.onCancelRequest((runId) => {
      const claim = [...this.active.values()].find((active) => active.run?.id === runId);
      if (claim?.run) this.cancel(runId).catch((error: Error) => this.logger.warn(`run ${runId} not cancelled: ${error.message}`));
    });
  }

  /**
   * Queues a backup of the app and returns its run at once. A manual trigger while the app runs is
   * refused (RunInProgressError); a scheduled one is recorded as skipped.
   */
  start(appId: number, trigger: RunTrigger): Promise<RunEntity> {
    return this.route({ kind: 'backup', appId, trigger });
  }

  /**
   * Queues a restore of one of the app's backups (from `destination`, the app's first by default) into the app;
   * 400s (InvalidBackupError) come before any run, among them a backup made with a newer schema than the app runs
   * now, unless `force`.
   */
  startRestore(appId: number, name: string, { destination, force = false }: { destination?: string | number; force?: boolean } = {}): Promise<RunEntity> {
    return this.route({ kind: 'restore', appId, trigger: 'manual', name, destination, force });
  }

  /** Queues a verification of the named backup, or of the newest one. */
  startVerify(appId: number, trigger: RunTrigger, name?: string, destination?: string | number): Promise<RunEntity> {
    return this.route({ kind: 'verify', appId, trigger, name, destination });
  }

  /**
   * Queues a restore drill of the named backup, or of the newest recorded one, into the app's drill instance (see
   * RestoreDrill); 400 (InvalidBackupError) before any run for an app without a drill instance or such a backup.
   */
  startDrill(appId: number, trigger: RunTrigger, name?: string, destination?: string | number): Promise<RunEntity> {
    return this.route({ kind: 'drill', appId, trigger, name, destination });
  }

  /** Cluster mode: how a run of another zone's app reaches a replica of that zone (wired by CLUSTER_PROVIDERS). */
  handOverWith(handOver: HandOver): void {
    this.handOver = handOver;
  }

  /**
   * A run happens where its app's network is: on a replica of the app's zone. Another zone's app is handed to a live
   * replica of its zone, which answers as this one would (the run, or the error that refused it); with none, the run
   * fails at once, recorded, instead of waiting for a replica that may never come. Embedded mode is one replica.
   */
  private async route(request: RunRequest): Promise<RunEntity> {
    if (this.closing) throw new ShuttingDownError();
    const app = await this.apps.get(request.appId);
    if (app.zone === this.config.zone) return this.perform(request);
    const runId = this.handOver && (await this.leases.serves(app.zone)) ? await this.handOver(app.zone, request) : null;
    if (runId !== null) return this.runs.get(runId);
    return this.runs.failToStart(app, request.trigger, english('failure.noReplicaInZone', { zone: app.zone }), request.kind);
  }

  /** Starts the request here: an app of this replica's zone, asked for here or handed over by a replica of another zone. */
  perform(request: RunRequest): Promise<RunEntity> {
    const { kind, appId, trigger, name, destination } = request;
    switch (kind) {
      case 'backup':
        return this.launch(appId, trigger, 'backup', async () => ({
          backupName: null,
          work: (app, run, stop, commit) => this.job.run(app, run, stop, commit),
        }));
      case 'restore':
        return this.launch(appId, 'manual', 'restore', async (app) => {
          const backup = await this.stored.find(app, name!, destination);
          const target = { url: app.url, token: this.apps.tokenOf(app) };
          const schemas = await this.stored.checkRestorable(app.name, target, backup, request.force === true);
          return {
            backupName: backup.name,
            destinationId: backup.destinationId,
            work: async (_app, run, stop, commit) => {
              await this.runs.log(run, schemas);
              return this.stored.restore(target, run, backup, stop, commit);
            },
          };
        });
      case 'verify':
        return this.launch(appId, trigger, 'verify', async (app) => {
          const backup = await this.stored.findRecorded(app, name, destination);
          return { backupName: backup.name, destinationId: backup.destinationId, work: (_app, run, stop, commit) => this.stored.verify(run, backup, stop, commit) };
        });
      case 'drill':
        return this.launch(appId, trigger, 'drill', async (app) => {
          const target = this.drill.targetOf(app);
          const backup = await this.stored.findRecorded(app, name, destination);
          return { backupName: backup.name, destinationId: backup.destinationId, work: (app, run, stop, commit) => this.drill.run(app, target, run, backup, stop, commit) };
        });
    }
  }

  /**
   * The one way a run starts: one run per app (backup, restore or verify alike), checks that may refuse
   * it before anything is recorded, then the queue.
   */
  private async launch(appId: number, trigger: RunTrigger, kind: RunKind, prepare: (app: AppEntity) => Promise<PreparedRun>): Promise<RunEntity> {
    if (this.closing) throw new ShuttingDownError();
    const app = await this.apps.get(appId);
    const current = this.active.get(app.id);
    if (current) {
      if (trigger === 'manual') throw new RunInProgressError(app.name);
      // A backup still waiting for a slot has not read anything yet: it serves this firing too.
      if (kind === 'backup' && current.kind === 'backup' && current.run && !current.started && current.cancellable) {
        await this.runs.log(current.run, english('log.servesFiring'));
        return current.run;
      }
      // A scheduled verification (or drill) still waiting for a slot gives way: a missed backup costs more than a check
      // postponed to its next firing. Withdrawn, it is recorded as skipped; then this backup is queued.
      if (kind === 'backup' && (current.kind === 'verify' || current.kind === 'drill') && current.run?.trigger === 'schedule' && !current.started) {
        current.stop.abort(new GaveWay());
        await current.finished;
        return this.launch(appId, trigger, kind, prepare);
      }
      return this.runs.skip(app, trigger, english('failure.previousStillRunning'), kind);
    }
    // Claimed before the first await, so two simultaneous triggers cannot both start.
    const claim: ActiveRun = { run: null, kind, started: false, cancellable: true, stop: new AbortController(), cancel: new AbortController(), finished: Promise.resolve() };
    this.active.set(app.id, claim);
    let run: RunEntity;
    let work: RunWork;
    try {
      const prepared = await prepare(app);
      work = prepared.work;
      run = await this.runs.queue(app, trigger, kind, prepared.backupName, prepared.destinationId ?? null);
    } catch (error) {
      this.active.delete(app.id);
      // Cluster mode: another replica runs the app (the database holds one unfinished run per app).
      if (!violatesUnique(error, null, 'UQ_runs_one_unfinished_per_app')) throw error;
      if (trigger === 'manual') throw new RunInProgressError(app.name);
      return this.runs.skip(app, trigger, english('failure.previousStillRunning'), kind);
    }
    claim.run = run;
    claim.finished = inRun(run, async () => {
      await this.leases.hold(run.id).catch((error: Error) => this.logger.error(`could not hold the lease of run ${run.id}: ${error.message}`));
      await this.execute(app, run, claim, work);
    }).finally(() => {
      this.active.delete(app.id);
      void this.leases.release(run.id);
    });
    return run;
  }

  /** Whether a run queued now would start at once (not wait for a slot of MAX_CONCURRENT_BACKUPS). */
  hasRoom(): boolean {
    return this.active.size < this.config.backup.maxConcurrent;
  }

  /** Resolves when the run started here has ended (at once for one that is not running here). */
  settled(runId: number): Promise<void> {
    const claim = [...this.active.values()].find((active) => active.run?.id === runId);
    return claim ? claim.finished : Promise.resolve();
  }

  isRunning(appId: number): boolean {
    return this.active.has(appId);
  }

  /**
   * Stops a queued or running run: it ends `cancelled` (see execute). A queued one leaves the queue and is
   * recorded before this returns; a running one is aborted (rclone killed, temporary file removed) and recorded
   * moments later. RunNotCancellableError once it ended or committed: then it ends as it would have.
   */
  async cancel(runId: number): Promise<RunEntity> {
    const run = await this.runs.get(runId);
    const claim = this.active.get(run.appId);
    if (!claim && this.relay.enabled && ['queued', 'running'].includes(run.status)) return this.cancelElsewhere(run);
    if (claim?.run?.id !== runId || !claim.cancellable) {
      // Read again: the run may have ended since the first read.
      const now = await this.runs.get(runId);
      if (!['queued', 'running'].includes(now.status)) {
        throw new RunNotCancellableError(english('failure.cancelFinished', { id: runId, status: now.status }));
      }
      throw new RunNotCancellableError(claim?.run?.id === runId && claim.cancel.signal.aborted
        ? english('failure.cancelUnderWay', { id: runId })
        : english('failure.cancelCommitted', { id: runId }));
    }
    // Checked and claimed without an await in between: the run cannot commit in the meantime.
    claim.cancellable = false;
    claim.cancel.abort(new Error(english('failure.cancelledBy', { by: CANCELLED_BY })));
    if (!claim.started) await claim.finished;
    return run;
  }

  /** Cluster mode: the run is another replica's; it is asked to cancel it, and this waits (a few seconds) for the outcome. */
  private async cancelElsewhere(run: RunEntity): Promise<RunEntity> {
    await this.relay.requestCancel(run.id);
    const deadline = Date.now() + CANCEL_ELSEWHERE_MS;
    for (;;) {
      const now = await this.runs.get(run.id);
      if (!['queued', 'running'].includes(now.status)) {
        if (now.status === 'cancelled') return now;
        throw new RunNotCancellableError(english('failure.cancelFinished', { id: run.id, status: now.status }));
      }
      if (Date.now() > deadline) throw new RunNotCancellableError(english('failure.cancelCommitted', { id: run.id }));
      await sleep(100);
    }
  }

  private async execute(app: AppEntity, run: RunEntity, claim: ActiveRun, work: RunWork): Promise<void> {
    const stop = claim.stop.signal;
    const signal = AbortSignal.any([stop, claim.cancel.signal]);
    const commit = () => {
      signal.throwIfAborted();
      claim.cancellable = false;
    };
    let release: (() => void) | undefined;
    try {
      release = await this.limit.acquire(signal);
      claim.started = true;
      // Given a slot in the same turn as it was stopped (shutdown, cancel, or giving way): it has read nothing yet.
      signal.throwIfAborted();
      await this.recordUntilStored(run, stop, () => this.runs.start(run));
      const outcome = await work(app, run, signal, commit);
      await this.recordUntilStored(run, stop, () => this.runs.succeed(run, outcome));
    } catch (error) {
      claim.cancellable = false;
      if (claim.cancel.signal.aborted) {
        // Whatever the work then threw (an aborted request, a killed rclone) was the cancel's doing.
        await this.recordUntilStored(run, stop, () => this.runs.cancel(run, CANCELLED_BY)).catch(() => undefined);
        return;
      }
      if (error instanceof GaveWay) return void (await this.runs.withdraw(run, error.message).catch(() => undefined));
      const message = error instanceof BackupFailure ? error.toString() : english('failure.unexpected', { reason: (error as Error).message });
      if (!(error instanceof BackupFailure)) this.logger.error(printable((error as Error).stack ?? String(error), 8192));
      await this.recordUntilStored(run, stop, () => this.runs.fail(run, message)).catch(() => undefined);
    } finally {
      release?.();
    }
  }

  /**
   * A run's history must not be lost to a full disk or a locked database: the write is tried again, up to
   * every 30 s, for as long as the process lives (shutdown ends the wait; the next start then marks the run
   * interrupted). Rejects with the stop reason in that case only.
   */
  private async recordUntilStored(run: RunEntity, stop: AbortSignal, write: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        if (stop.aborted) {
          this.logger.error(`run ${run.id} of ${run.appName} could not be recorded before shutdown; the next start marks it interrupted`);
          throw stop.reason;
        }
        const delayMs = Math.min(RECORD_RETRY_FIRST_MS * 2 ** attempt, RECORD_RETRY_MAX_MS);
        this.logger.error(`could not record run ${run.id} of ${run.appName} (${(error as Error).message}); trying again in ${delayMs / 1000} s`);
        await sleep(delayMs, undefined, { signal: stop }).catch(() => undefined);
      }
    }
  }

  /**
   * Runs left queued or running by a previous process never finish: mark them and remove their uploads.
   * At module init, so it is done before the scheduler can start (and catch up) new runs.
   */
  async onModuleInit(): Promise<void> {
    // Cluster mode: other replicas' runs go on; only those whose lease ran out are failed (LostRuns).
    if (this.leases.enabled) return;
    const interrupted = await this.runs.unfinished();
    for (const run of interrupted) await this.runs.fail(run, new BackupFailure('restart', english('failure.interruptedByRestart')).toString());
    // Cleaning the remote can be slow and must not delay the boot.
    void this.removeLeftovers(interrupted);
  }

  /** Refuses new runs, lets running ones finish within SHUTDOWN_GRACE_S, then stops the rest cleanly. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    const running = [...this.active.values()];
    if (running.length === 0) return;
    this.logger.log(`waiting up to ${this.config.shutdownGraceMs / 1000} s for ${running.length} running backup(s)`);
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.config.shutdownGraceMs)));
    await Promise.race([Promise.all(running.map((run) => run.finished)), graceOver]);
    clearTimeout(timer);
    for (const run of running) run.stop.abort(new BackupFailure('shutdown', english('failure.stoppedByShutdown')));
    await Promise.all(running.map((run) => run.finished));
  }

  /** Removes the temporary files runs that will never finish left on the remote. */
  async removeLeftovers(runs: RunEntity[]): Promise<void> {
    for (const appId of new Set(runs.map((run) => run.appId))) {
      try {
        const app = await this.apps.get(appId);
        await this.job.removeTemporaryFiles(app, runs.filter((run) => run.appId === appId).map((run) => run.id));
      } catch (error) {
        this.logger.warn(`could not clean up temporary files of app ${appId}: ${printable((error as Error).message, 4096)}`);
      }
    }
  }
}
