import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { PgBoss } from 'pg-boss';
import type { AppConfig } from '../config/app-config';
import { Firing, FiringHandler, FiringQueue, firingId } from './firing-queue';
import type { ReplicaLeases } from './replica-leases.service';

const QUEUE = 'firings';
/** How often an idle replica looks for firings (pg-boss polls; 1 s keeps firing-to-start delays short). */
const POLL_S = 1;
const MAX_EXPIRY_S = 24 * 60 * 60;
/** A firing no replica has room for goes round again after this long. */
const HAND_BACK_DELAY_S = 1;

/**
 * Firings in pg-boss. Every replica keeps the cron jobs and submits each firing under an id derived from the app,
 * the kind and the scheduled time: pg-boss keeps the first and ignores the others (the id is the job's primary
 * key), so a firing becomes exactly one job whatever the number of replicas. Each replica works the queue with
 * MAX_CONCURRENT_BACKUPS workers that hold their job until the run ends: a busy replica takes no more, an idle one
 * does, and a stopping one stops taking while the others go on. A firing taken where manual runs fill the slots, or
 * in the instant the replica began to stop, goes back to the queue: firings wait there, not behind a replica's runs. A job is never retried: a replica that dies
 * mid-run leaves it to the run leases, which fail the run "replica lost" (a second attempt would run a firing twice).
 */
export class PgBossFiringQueue extends FiringQueue implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(PgBossFiringQueue.name);
  private readonly handlers = new Map<Firing['kind'], FiringHandler>();
  private readonly boss: PgBoss;
  private started: Promise<unknown> | null = null;
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly replica: ReplicaLeases,
    /** Whether a run would start here at once: manual runs share MAX_CONCURRENT_BACKUPS with the workers. */
    private readonly hasRoom: () => boolean,
  ) {
    super();
    this.boss = new PgBoss({ connectionString: config.databaseUrl!, max: 4, application_name: 'app-orquestador' });
    this.boss.on('error', (error: Error) => this.logger.error(`pg-boss: ${error.message}`));
  }

  handle(kind: Firing['kind'], handler: FiringHandler): void {
    this.handlers.set(kind, handler);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.started = this.start();
    await this.started;
  }

  private async start(): Promise<void> {
    await this.boss.start();
    // A job outlives its longest possible run: pg-boss must not expire (and fail) a firing while its backup goes on.
    // pg-boss allows 24 h at most; a longer run only loses its job's bookkeeping (never retried), not the run.
    const expireInSeconds = Math.min(Math.ceil(this.config.backup.maxDurationMs / 1000 + this.config.shutdownGraceMs / 1000 + 600), MAX_EXPIRY_S);
    if (!(await this.boss.getQueue(QUEUE))) {
      await this.boss.createQueue(QUEUE, { retryLimit: 0, expireInSeconds }).catch(async (error: Error) => {
        // Another replica created it in the meantime.
        if (!(await this.boss.getQueue(QUEUE))) throw error;
      });
    }
    await this.boss.work<Firing>(QUEUE, { localConcurrency: this.config.backup.maxConcurrent, pollingIntervalSeconds: POLL_S }, async ([job]) => {
      // Taken in the moment this replica began to stop, or while manual runs fill its slots: handed back for a replica
      // with room, so that firings wait in the cluster's queue, never behind one replica's runs (nor die with it on SIGTERM).
      if (this.stopping || !this.hasRoom()) return this.handBack(job.data);
      const ended = await this.handlers.get(job.data.kind)!(job.data);
      await ended();
    });
  }

  /** Under an id of its own (the firing's is taken, by this job), a second later unless this replica is stopping. */
  private async handBack(firing: Firing): Promise<void> {
    const id = firingId({ ...firing, due: `${firing.due} handed back by ${this.replica.id} ${randomUUID()}` });
    await this.boss.send(QUEUE, { ...firing, handedBackBy: this.replica.id }, { id, startAfter: this.stopping ? 0 : HAND_BACK_DELAY_S });
  }

  async submit(firing: Firing): Promise<void> {
    await this.started;
    await this.boss.send(QUEUE, firing, { id: firingId(firing) });
  }

  /** SIGTERM: take no more firings; queued ones are left for the other replicas; running ones get SHUTDOWN_GRACE_S (BackupRunner). */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.boss.offWork(QUEUE, { wait: false }).catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.boss.stop({ graceful: false, close: true }).catch(() => undefined);
  }
}
