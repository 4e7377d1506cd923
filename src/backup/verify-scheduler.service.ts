import { setTimeout as sleep } from 'node:timers/promises';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppEntity, FOLLOW_VERIFY_SCHEDULE } from '../apps/app.entity';
import { AppChange, AppsService } from '../apps/apps.service';
import { AppNotFoundError, InvalidBackupError, ShuttingDownError } from '../common/errors';
import { printable } from '../common/printable';
import { forEachInSlices } from '../common/slices';
import { AuditService } from '../audit/audit.service';
import { AppConfig } from '../config/app-config';
import { BackupRunner } from './backup-runner.service';
import { startCronJob } from './cron-job';
import { RunsService } from './runs.service';
import type { RunEntity } from './run.entity';
import { Firing, firingApp, FiringQueue, firingTime, TakenFiring, takenFiring } from '../cluster/firing-queue';
import { timeZoneOf } from '../apps/app-time-zone';

/** The job of VERIFY_SCHEDULE: on each firing it queues a verification of every app that follows it. */
const GLOBAL_JOB = 'verify:global';
const jobName = (appId: number) => `verify:${appId}`;
/** How long the boot waits for the per-app jobs before listening. */
const BOOT_WAIT_MS = 300;

/** Where an app's scheduled verification comes from, for its page. */
export interface VerifyPlan {
  /** global: VERIFY_SCHEDULE (null when that is off); own: the app's; never: it opted out; disabled: no runs at all. */
  source: 'global' | 'own' | 'never' | 'disabled';
  schedule: string | null;
  nextAt: Date | null;
}

/**
 * Scheduled verification, beside the backup jobs and through the same registry: one job `verify:global`
 * from VERIFY_SCHEDULE for the apps that follow it, and a job `verify:<id>` for each app with a schedule of
 * its own. Each firing queues a `verify` run (trigger `schedule`) of the app's newest recorded backup through
 * the runner, so it waits for a slot of MAX_CONCURRENT_BACKUPS and for the app's other runs like any run.
 */
@Injectable()
export class VerifyScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(VerifyScheduler.name);
  private closing = false;
  /** Apps read at boot whose job is not registered yet. */
  private readonly pending = new Set<number>();

  constructor(
    private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    private readonly apps: AppsService,
    private readonly runner: BackupRunner,
    private readonly runs: RunsService,
    private readonly audit: AuditService,
    private readonly queue: FiringQueue,
  ) {
    apps.onChange((change) => this.follow(change));
    queue.handle('verify', (firing) => this.runFiring(firing));
  }

  async onApplicationBootstrap(): Promise<void> {
    const global = this.config.scheduler.verifySchedule;
    // Validated at boot (VERIFY_SCHEDULE must fire in SCHEDULER_TIMEZONE): a failure here is a bug, not a bad value.
    if (global) this.register(GLOBAL_JOB, global, this.config.scheduler.timezone, () => this.verifyFollowers(firingTime(global, this.config.scheduler.timezone)));
    // Like the backup jobs: a few are registered before the service listens, thousands do not hold it up.
    const registration = this.registerOwn().catch((error: Error) => this.logger.error(`verification schedules not registered: ${error.message}`));
    await Promise.race([registration, sleep(BOOT_WAIT_MS)]);
  }

  private async registerOwn(): Promise<void> {
    const own = await this.apps.withOwnVerifySchedule();
    for (const app of own) this.pending.add(app.id);
    await forEachInSlices(own, (app) => {
      // An app changed meanwhile was already followed (its job replaced or removed): its row from the boot is stale.
      if (this.pending.delete(app.id)) this.schedule(app);
    }, () => this.closing);
  }

  beforeApplicationShutdown(): void {
    this.closing = true;
    for (const name of this.registry.getCronJobs().keys()) {
      if (name.startsWith('verify:')) this.registry.deleteCronJob(name);
    }
  }

  planOf(app: AppEntity): VerifyPlan {
    if (!app.enabled) return { source: 'disabled', schedule: null, nextAt: null };
    if (app.verifySchedule === null) return { source: 'never', schedule: null, nextAt: null };
    const [source, schedule, job] = app.verifySchedule === FOLLOW_VERIFY_SCHEDULE
      ? ['global' as const, this.config.scheduler.verifySchedule, GLOBAL_JOB]
      : ['own' as const, app.verifySchedule, jobName(app.id)];
    const nextAt = this.registry.doesExist('cron', job) ? this.registry.getCronJob(job).nextDate().toJSDate() : null;
    return { source, schedule, nextAt };
  }

  private follow(change: AppChange): void {
    this.pending.delete(change.app.id);
    const name = jobName(change.app.id);
    if (this.registry.doesExist('cron', name)) this.registry.deleteCronJob(name);
    if (change.kind === 'saved' && !this.closing) this.schedule(change.app);
  }

  private schedule(app: AppEntity): void {
    if (!app.enabled || app.verifySchedule === null || app.verifySchedule === FOLLOW_VERIFY_SCHEDULE) return;
    const [schedule, zone] = [app.verifySchedule, timeZoneOf(app, this.config)];
    this.register(jobName(app.id), schedule, zone, () => this.submit(app, firingTime(schedule, zone), this.scheduledAs(app)!));
  }

  /** The schedule a verification of the app comes from: the app's own (in its zone), or VERIFY_SCHEDULE's; null for none. */
  private scheduledAs(app: AppEntity): string | null {
    if (!app.enabled || app.verifySchedule === null) return null;
    if (app.verifySchedule === FOLLOW_VERIFY_SCHEDULE) return this.config.scheduler.verifySchedule ? FOLLOW_VERIFY_SCHEDULE : null;
    return `${timeZoneOf(app, this.config)} ${app.verifySchedule}`;
  }

  /** A stored expression the library refuses leaves that app unverified, logged (see startCronJob). */
  private register(name: string, cronTime: string, timeZone: string, onTick: () => Promise<void>): void {
    const job = startCronJob(cronTime, timeZone, onTick);
    if (typeof job === 'string') return this.logger.error(`${name} is not scheduled ("${cronTime}" in ${timeZone}): ${job}`);
    this.registry.addCronJob(name, job);
  }

  private async verifyFollowers(due: Date): Promise<void> {
    const followers = await this.apps.followingVerifySchedule();
    this.logger.log(`VERIFY_SCHEDULE fired: queuing the verification of ${followers.length} app(s)`);
    await forEachInSlices(followers, (app) => this.submit(app, due, FOLLOW_VERIFY_SCHEDULE), () => this.closing);
  }

  /** Through the firing queue, like a backup's firing: in a cluster, one replica verifies, once. */
  private async submit(app: Pick<AppEntity, 'id' | 'name' | 'zone'>, due: Date, schedule: string): Promise<void> {
    try {
      await this.queue.submit({ appId: app.id, kind: 'verify', due: due.toISOString(), zone: app.zone, schedule });
    } catch (error) {
      this.logger.error(`scheduled verification of ${app.name} could not be queued: ${(error as Error).message}`);
    }
  }

  /** Nothing is verified for an app deleted, disabled or opted out since the firing, or now on another schedule (see firingApp). */
  private async runFiring(firing: Firing): Promise<TakenFiring> {
    const app = await firingApp(firing, this.apps, (current) => this.scheduledAs(current));
    return takenFiring(app && (await this.verify(app)), (runId) => this.runner.settled(runId));
  }

  /** Queues the verification of the app's newest recorded backup; an app with none has nothing to verify yet. */
  private async verify(app: Pick<AppEntity, 'id' | 'name'>): Promise<RunEntity | null> {
    try {
      const run = await this.runner.startVerify(app.id, 'schedule');
      await this.audit.recordScheduled('verify.request', app);
      return run;
    } catch (error) {
      if (error instanceof InvalidBackupError) {
        this.logger.debug(`scheduled verification of ${app.name}: ${error.message}`);
        return null;
      }
      if (error instanceof AppNotFoundError || error instanceof ShuttingDownError) return null;
      // Anything else (the remote's folder cannot even be named) is a verification that failed: recorded, so it notifies.
      await this.audit.recordScheduled('verify.request', app, (error as Error).message);
      await this.runs.failToStart(app, 'schedule', (error as Error).message, 'verify').catch((e: Error) =>
        this.logger.error(`scheduled verification of ${app.name} could not start (${printable((error as Error).message, 4096)}) nor be recorded: ${e.message}`),
      );
      return null;
    }
  }
}
