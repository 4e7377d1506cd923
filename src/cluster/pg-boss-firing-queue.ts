import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BeforeApplicationShutdown, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { PgBoss } from 'pg-boss';
import type { RunRequest } from '../backup/backup-runner.service';
import { DomainError, ErrorCode, FieldProblem, HandedOverError } from '../common/errors';
import type { AppConfig } from '../config/app-config';
import { Firing, FiringHandler, FiringQueue, firingId } from './firing-queue';
import type { ReplicaLeases } from './replica-leases.service';

/** Each zone has its queues: a replica works only those of its own zone (REPLICA_ZONE), so runs happen where the app's network is. */
const firingsOf = (zone: string) => `firings.${zone}`;
const requestsOf = (zone: string) => `requests.${zone}`;
/** How often an idle replica looks for firings (pg-boss polls; 1 s keeps firing-to-start delays short). */
const POLL_S = 1;
/** Requests are waited for by an API call: looked for twice as often (pg-boss's shortest interval). */
const REQUEST_POLL_S = 0.5;
/** Requests only queue their run: a few at once are plenty. */
const REQUEST_WORKERS = 4;
/** How long an API call waits for a replica of the app's zone to take and answer its request. */
const HAND_OVER_TIMEOUT_MS = 15_000;
const MAX_EXPIRY_S = 24 * 60 * 60;
/** A firing no replica has room for goes round again after this long. */
const HAND_BACK_DELAY_S = 1;

/** What a replica of the zone answers to a request: its run, or the error that refused it (with what the error filter needs). */
type Answer = { runId: number } | { error: { message: string; code?: ErrorCode; details?: FieldProblem[] } };

/**
 * Firings in pg-boss. Every replica keeps the cron jobs and submits each firing under an id derived from the app,
 * the kind and the scheduled time: pg-boss keeps the first and ignores the others (the id is the job's primary
 * key), so a firing becomes exactly one job whatever the number of replicas. Each replica works the queue of its zone
 * with MAX_CONCURRENT_BACKUPS workers that hold their job until the run ends: a busy replica takes no more, an idle one
 * does, and a stopping one stops taking while the others go on. A firing taken where manual runs fill the slots, or
 * in the instant the replica began to stop, goes back to the queue: firings wait there, not behind a replica's runs. A job is never retried: a replica that dies
 * mid-run leaves it to the run leases, which fail the run "replica lost" (a second attempt would run a firing twice).
 *
 * Zones: a firing of an app goes to its zone's queue. The replica whose submission created the job checks that the
 * zone has a live replica; if none, it cancels the job and starts the run itself, which fails at once "no replica in
 * zone X" (BackupRunner.route). A run asked for through the API of a replica of another zone is a request in the
 * zone's request queue: a replica of the zone starts it and answers with the run's id (or the error that refused it),
 * which the asking replica reads back from the job's output.
 */
export class PgBossFiringQueue extends FiringQueue implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(PgBossFiringQueue.name);
  private readonly handlers = new Map<Firing['kind'], FiringHandler>();
  private readonly boss: PgBoss;
  private readonly queues = new Map<string, Promise<void>>();
  private started: Promise<unknown> | null = null;
  private stopping = false;
  private sweeper?: NodeJS.Timeout;
  private sweep: Promise<void> = Promise.resolve();
  private expireInSeconds: number;

  constructor(
    private readonly config: AppConfig,
    private readonly replica: ReplicaLeases,
    /** Whether a run would start here at once: manual runs share MAX_CONCURRENT_BACKUPS with the workers. */
    private readonly hasRoom: () => boolean,
    /** Starts a request handed over by a replica of another zone (BackupRunner.perform): resolves with its run's id. */
    private readonly perform: (request: RunRequest) => Promise<number>,
  ) {
    super();
    this.boss = new PgBoss({ connectionString: config.databaseUrl!, max: 4, application_name: 'app-orquestador' });
    this.boss.on('error', (error: Error) => this.logger.error(`pg-boss: ${error.message}`));
    // A job outlives its longest possible run: pg-boss must not expire (and fail) a firing while its backup goes on.
    // pg-boss allows 24 h at most; a longer run only loses its job's bookkeeping (never retried), not the run.
    this.expireInSeconds = Math.min(Math.ceil(config.backup.maxDurationMs / 1000 + config.shutdownGraceMs / 1000 + 600), MAX_EXPIRY_S);
  }

  handle(kind: Firing['kind'], handler: FiringHandler): void {
    this.handlers.set(kind, handler);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.started = this.start();
    await this.started;
    // As often as lost runs are looked for (LostRuns); passes never overlap.
    this.sweeper = setInterval(() => (this.sweep = this.sweep.then(() => this.failUnserved())), this.config.runLeaseMs / 8);
  }

  /**
   * Firings queued in a zone whose replicas have all gone since (they were live when the firing was submitted) fail
   * "no replica in zone X" too, instead of waiting for a replica that may never come, or running late when one does.
   * Whichever replica cancels a job records its run (cancel is conditional: one of several sweeping replicas wins).
   */
  private async failUnserved(): Promise<void> {
    try {
      for (const { zone } of await this.replica.unservedZones()) {
        const queue = firingsOf(zone);
        if (!(await this.boss.getQueue(queue))) continue;
        for (const job of await this.boss.findJobs<Firing>(queue, { queued: true })) {
          // pg-boss returns how many jobs it cancelled (`affected`), though its type declares no field.
          const { affected } = (await this.boss.cancel(queue, job.id)) as { affected?: number };
          if (affected === 1) await this.handlers.get(job.data.kind)!(job.data);
        }
      }
    } catch (error) {
      this.logger.error(`could not look for firings of zones without a replica: ${(error as Error).message}`);
    }
  }

  /** Created once, by whichever replica needs it first (another may create it in the meantime). */
  private queue(name: string): Promise<void> {
    let created = this.queues.get(name);
    if (!created) {
      created = (async () => {
        if (await this.boss.getQueue(name)) return;
        await this.boss.createQueue(name, { retryLimit: 0, expireInSeconds: this.expireInSeconds }).catch(async (error: Error) => {
          if (!(await this.boss.getQueue(name))) throw error;
        });
      })();
      created.catch(() => this.queues.delete(name));
      this.queues.set(name, created);
    }
    return created;
  }

  private async start(): Promise<void> {
    await this.boss.start();
    const zone = this.replica.zone;
    await Promise.all([this.queue(firingsOf(zone)), this.queue(requestsOf(zone))]);
    await this.boss.work<Firing>(firingsOf(zone), { localConcurrency: this.config.backup.maxConcurrent, pollingIntervalSeconds: POLL_S }, async ([job]) => {
      // Taken in the moment this replica began to stop, or while manual runs fill its slots: handed back for a replica
      // with room, so that firings wait in the cluster's queue, never behind one replica's runs (nor die with it on SIGTERM).
      if (this.stopping || !this.hasRoom()) {
        await this.handBack(job.data);
        return { handedBack: true };
      }
      const { runId, ended } = await this.handlers.get(job.data.kind)!(job.data);
      await ended();
      // The job's output says what the firing became: a run, or none (its app changed since it was queued).
      return { runId };
    });
    await this.boss.work<RunRequest, Answer>(requestsOf(zone), { localConcurrency: REQUEST_WORKERS, pollingIntervalSeconds: REQUEST_POLL_S }, async ([job]) => {
      try {
        return { runId: await this.perform(job.data) };
      } catch (error) {
        const { message, code, details } = error as Partial<DomainError>;
        return { error: { message: message ?? String(error), code, details } };
      }
    });
  }

  /** Under an id of its own (the firing's is taken, by this job), a second later unless this replica is stopping. */
  private async handBack(firing: Firing): Promise<void> {
    const id = firingId({ ...firing, due: `${firing.due} handed back by ${this.replica.id} ${randomUUID()}` });
    await this.boss.send(firingsOf(firing.zone), { ...firing, handedBackBy: this.replica.id }, { id, startAfter: this.stopping ? 0 : HAND_BACK_DELAY_S });
  }

  async submit(firing: Firing): Promise<void> {
    await this.started;
    const queue = firingsOf(firing.zone);
    await this.queue(queue);
    const created = await this.boss.send(queue, firing, { id: firingId(firing) });
    // Only the replica that created the job looks (one failed run per firing, not one per replica).
    if (created === null || (await this.replica.serves(firing.zone))) return;
    // Cancelled, not deleted: the job's id must stay taken, or the other replicas' submissions would make it again.
    await this.boss.cancel(queue, created);
    await this.handlers.get(firing.kind)!(firing);
  }

  /**
   * A run of an app of another zone: a replica of that zone starts it; its answer is this call's (the run's id, or its
   * error). Null when no replica of the zone took it in time: the caller records the run as failed "no replica in zone X".
   */
  async handOver(zone: string, request: RunRequest): Promise<number | null> {
    await this.started;
    const queue = requestsOf(zone);
    await this.queue(queue);
    const id = (await this.boss.send(queue, request))!;
    const deadline = Date.now() + HAND_OVER_TIMEOUT_MS;
    for (;;) {
      const job = await this.boss.getJobById<RunRequest>(queue, id);
      if (job?.state === 'completed') {
        const answer = job.output as Answer;
        if ('runId' in answer) return answer.runId;
        throw answer.error.code ? new HandedOverError(answer.error.code, answer.error.message, answer.error.details) : new Error(answer.error.message);
      }
      if (job?.state === 'failed' || Date.now() > deadline) {
        // Not taken in time (the zone's replicas are gone or stopping): withdrawn, so it cannot start later unasked.
        await this.boss.deleteJob(queue, id).catch(() => undefined);
        this.logger.warn(`no replica of zone ${zone} took the ${request.kind} request of app ${request.appId} within ${HAND_OVER_TIMEOUT_MS / 1000} s`);
        return null;
      }
      await sleep(100);
    }
  }

  /** SIGTERM: take no more firings; queued ones are left for the other replicas; running ones get SHUTDOWN_GRACE_S (BackupRunner). */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweeper);
    await this.sweep;
    await this.boss.offWork(firingsOf(this.replica.zone), { wait: false }).catch(() => undefined);
    await this.boss.offWork(requestsOf(this.replica.zone), { wait: false }).catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.boss.stop({ graceful: false, close: true }).catch(() => undefined);
  }
}
