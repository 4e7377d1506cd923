import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import type { AppEntity } from '../apps/app.entity';
import { cronFailure } from '../apps/app.validators';
import { AppChange, AppsService } from '../apps/apps.service';
import { AuditService } from '../audit/audit.service';
import { AppNotFoundError, InvalidBackupError, ShuttingDownError } from '../common/errors';
import { printable } from '../common/printable';
import { forEachInSlices } from '../common/slices';
import { AppConfig } from '../config/app-config';
import { BackupRunner } from './backup-runner.service';
import { RunsService } from './runs.service';

const jobName = (appId: number) => `drill:${appId}`;

/**
 * Scheduled restore drills: a job `drill:<id>` for each enabled app with a drillSchedule, in the app's time zone,
 * beside the backup and verification jobs in the same registry. Each firing queues a `drill` run (trigger
 * `schedule`) of the newest recorded backup through the runner, like any run; one that cannot even start
 * (other than for want of a backup yet) is recorded as failed, so that it notifies.
 */
@Injectable()
export class DrillScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DrillScheduler.name);
  private closing = false;

  constructor(
    private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    private readonly apps: AppsService,
    private readonly runner: BackupRunner,
    private readonly runs: RunsService,
    private readonly audit: AuditService,
  ) {
    apps.onChange((change) => this.follow(change));
  }

  async onApplicationBootstrap(): Promise<void> {
    // Few apps have drills: registered before listening.
    const apps = await this.apps.withDrillSchedule().catch((error: Error) => {
      this.logger.error(`drill schedules not registered: ${error.message}`);
      return [];
    });
    await forEachInSlices(apps, (app) => this.schedule(app), () => this.closing);
  }

  beforeApplicationShutdown(): void {
    this.closing = true;
    for (const name of this.registry.getCronJobs().keys()) {
      if (name.startsWith('drill:')) this.registry.deleteCronJob(name);
    }
  }

  /** When the app's next scheduled drill fires; null when it has none. */
  nextAt(appId: number): Date | null {
    const name = jobName(appId);
    return this.registry.doesExist('cron', name) ? this.registry.getCronJob(name).nextDate().toJSDate() : null;
  }

  private follow(change: AppChange): void {
    const name = jobName(change.app.id);
    if (this.registry.doesExist('cron', name)) this.registry.deleteCronJob(name);
    if (change.kind === 'saved' && !this.closing) this.schedule(change.app);
  }

  private schedule(app: AppEntity): void {
    if (!app.enabled || app.drillSchedule === null || app.drillUrl === null) return;
    const name = jobName(app.id);
    const timeZone = app.timezone ?? this.config.scheduler.timezone;
    let job: CronJob | undefined;
    try {
      job = CronJob.from({ cronTime: app.drillSchedule, timeZone, onTick: () => this.drill(app), waitForCompletion: true, start: false });
      job.start();
    } catch (failure) {
      // The API refuses such an expression: this is an older row or a hand edit. That app is not drilled, logged.
      job?.stop();
      return this.logger.error(`${name} is not scheduled ("${app.drillSchedule}" in ${timeZone}): ${cronFailure(failure)}`);
    }
    if (this.registry.doesExist('cron', name)) this.registry.deleteCronJob(name);
    this.registry.addCronJob(name, job);
  }

  private async drill(app: Pick<AppEntity, 'id' | 'name' | 'zone'>): Promise<void> {
    // Cluster mode: every replica keeps the jobs, the replicas of the app's zone fire them (a zone without one is degraded
    // in /api/health). Embedded mode: fired, and failed "no replica in zone X" for another zone's app (BackupRunner.route).
    if (this.config.databaseUrl && app.zone !== this.config.zone) return;
    try {
      await this.runner.startDrill(app.id, 'schedule');
      await this.audit.recordScheduled('drill.request', app);
    } catch (error) {
      if (error instanceof AppNotFoundError || error instanceof ShuttingDownError) return;
      // No backup recorded yet: nothing to drill, as with a scheduled verification.
      if (error instanceof InvalidBackupError && !/drill instance/.test(error.message)) {
        return this.logger.debug(`scheduled drill of ${app.name}: ${error.message}`);
      }
      await this.audit.recordScheduled('drill.request', app, (error as Error).message);
      await this.runs.failToStart(app, 'schedule', (error as Error).message, 'drill').catch((e: Error) =>
        this.logger.error(`scheduled drill of ${app.name} could not start (${printable((error as Error).message, 4096)}) nor be recorded: ${e.message}`),
      );
    }
  }
}
