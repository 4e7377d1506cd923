import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { AppEntity } from '../apps/app.entity';
import { AppChange, AppsService } from '../apps/apps.service';
import { AuditService } from '../audit/audit.service';
import { AppNotFoundError, InvalidBackupError, ShuttingDownError } from '../common/errors';
import { printable } from '../common/printable';
import { forEachInSlices } from '../common/slices';
import { AppConfig } from '../config/app-config';
import { BackupRunner } from './backup-runner.service';
import { startCronJob } from './cron-job';
import { RunsService } from './runs.service';
import type { RunEntity } from './run.entity';
import { Firing, firingApp, FiringQueue, firingTime, TakenFiring, takenFiring } from '../cluster/firing-queue';
import { timeZoneOf } from '../apps/app-time-zone';

const jobName = (appId: number) => `drill:${appId}`;

/**
 * Scheduled restore drills: a job `drill:<id>` for each enabled app with a drillSchedule, in the app's time zone,
 * beside the backup and verification jobs in the same registry. Each firing goes through the firing queue, like a
 * backup's (in a cluster: one replica of the app's zone drills, once), and queues a `drill` run (trigger `schedule`)
 * of the newest recorded backup through the runner, like any run; one that cannot even start (other than for want
 * of a backup yet) is recorded as failed, so that it notifies.
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
    private readonly queue: FiringQueue,
  ) {
    apps.onChange((change) => this.follow(change));
    queue.handle('drill', (firing) => this.runFiring(firing));
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

  /** The schedule a drill of the app comes from (in the app's zone); null when it has none. */
  private scheduledAs(app: AppEntity): string | null {
    if (!app.enabled || app.drillSchedule === null || app.drillUrl === null) return null;
    return `${timeZoneOf(app, this.config)} ${app.drillSchedule}`;
  }

  private schedule(app: AppEntity): void {
    const schedule = this.scheduledAs(app);
    if (schedule === null) return;
    const name = jobName(app.id);
    const [cronTime, timeZone] = [app.drillSchedule!, timeZoneOf(app, this.config)];
    const job = startCronJob(cronTime, timeZone, () => this.submit(app, firingTime(cronTime, timeZone), schedule));
    // That app is not drilled, logged (see startCronJob).
    if (typeof job === 'string') return this.logger.error(`${name} is not scheduled ("${cronTime}" in ${timeZone}): ${job}`);
    if (this.registry.doesExist('cron', name)) this.registry.deleteCronJob(name);
    this.registry.addCronJob(name, job);
  }

  private async submit(app: AppEntity, due: Date, schedule: string): Promise<void> {
    try {
      await this.queue.submit({ appId: app.id, kind: 'drill', due: due.toISOString(), zone: app.zone, schedule });
    } catch (error) {
      this.logger.error(`scheduled drill of ${app.name} could not be queued: ${(error as Error).message}`);
    }
  }

  /** Nothing is drilled for an app deleted or disabled since the firing, or whose drill schedule changed (see firingApp). */
  private async runFiring(firing: Firing): Promise<TakenFiring> {
    const app = await firingApp(firing, this.apps, (current) => this.scheduledAs(current));
    return takenFiring(app && (await this.drill(app)), (runId) => this.runner.settled(runId));
  }

  private async drill(app: AppEntity): Promise<RunEntity | null> {
    try {
      const run = await this.runner.startDrill(app.id, 'schedule');
      await this.audit.recordScheduled('drill.request', app);
      return run;
    } catch (error) {
      if (error instanceof AppNotFoundError || error instanceof ShuttingDownError) return null;
      // No backup recorded yet: nothing to drill, as with a scheduled verification.
      if (error instanceof InvalidBackupError && !/drill instance/.test(error.message)) {
        this.logger.debug(`scheduled drill of ${app.name}: ${error.message}`);
        return null;
      }
      await this.audit.recordScheduled('drill.request', app, (error as Error).message);
      await this.runs.failToStart(app, 'schedule', (error as Error).message, 'drill').catch((e: Error) =>
        this.logger.error(`scheduled drill of ${app.name} could not start (${printable((error as Error).message, 4096)}) nor be recorded: ${e.message}`),
      );
      return null;
    }
  }
}
