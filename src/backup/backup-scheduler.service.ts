import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob, CronTime } from 'cron';
import type { AppEntity } from '../apps/app.entity';
import { cronFailure } from '../apps/app.validators';
import { AppChange, AppsService } from '../apps/apps.service';
import { AppConfig } from '../config/app-config';
import { BackupRunner } from './backup-runner.service';
import { RunsService } from './runs.service';

const jobName = (appId: number) => `backup:${appId}`;

/** An enabled app that has no job: its stored schedule or zone is one the cron library refuses. */
export interface BrokenSchedule {
  id: number;
  name: string;
  error: string;
}

/**
 * One cron job per enabled app, named `backup:<id>` in SchedulerRegistry, kept in step with the
 * registry as it changes: what the API says will run is what runs.
 */
@Injectable()
export class BackupScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(BackupScheduler.name);
  /** cron's nextDate() costs ~0.4 ms; listing 1000 apps must not pay it 1000 times per request. */
  private readonly nextRuns = new Map<number, Date>();
  /** Time between two firings of each scheduled app, for overdue detection; computed once per job. */
  private readonly periods = new Map<number, number>();
  private readonly broken = new Map<number, BrokenSchedule>();

  constructor(
    private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    private readonly apps: AppsService,
    private readonly runner: BackupRunner,
    private readonly runs: RunsService,
  ) {
    apps.onChange((change) => this.follow(change));
  }

  async onApplicationBootstrap(): Promise<void> {
    const apps = await this.apps.list();
    for (const app of apps) this.schedule(app);
    this.logger.log(`scheduled ${this.periods.size} of ${apps.length} apps`);
    // Only apps with a job: a broken one has no firing to catch up.
    if (this.config.scheduler.catchUpMissed) await this.catchUp(apps.filter((app) => this.periods.has(app.id)));
  }

  beforeApplicationShutdown(): void {
    for (const name of this.registry.getCronJobs().keys()) {
      if (name.startsWith('backup:')) this.registry.deleteCronJob(name); // deleteCronJob also stops it
    }
  }

  timezoneOf(app: AppEntity): string {
    return app.timezone ?? this.config.scheduler.timezone;
  }

  nextRunOf(appId: number): Date | null {
    if (!this.registry.doesExist('cron', jobName(appId))) return null;
    const cached = this.nextRuns.get(appId);
    if (cached && cached.getTime() > Date.now()) return cached;
    const next = this.registry.getCronJob(jobName(appId)).nextDate().toJSDate();
    this.nextRuns.set(appId, next);
    return next;
  }

  private follow(change: AppChange): void {
    this.unschedule(change.app.id);
    if (change.kind === 'saved') this.schedule(change.app);
  }

  /**
   * Registers the app's job. A row the cron library refuses (a schedule that never fires, an unknown zone:
   * the API refuses both, but older versions or a hand edit may have stored one) leaves that app without a
   * job and reported as broken, instead of failing the boot or the request that saved it.
   */
  private schedule(app: AppEntity): void {
    if (!app.enabled) return;
    this.unschedule(app.id);
    let job: CronJob;
    let firings: number[];
    try {
      job = CronJob.from({
        cronTime: app.schedule,
        timeZone: this.timezoneOf(app),
        // The tick only queues the run, so a firing during a long run reaches the runner and is recorded as skipped.
        onTick: () => this.fire(app),
        waitForCompletion: true,
        start: false,
      });
      firings = job.nextDates(2).map((date) => date.toMillis());
    } catch (failure) {
      const error = cronFailure(failure);
      this.broken.set(app.id, { id: app.id, name: app.name, error });
      this.logger.error(`app ${app.name} (id ${app.id}) is not scheduled ("${app.schedule}" in ${this.timezoneOf(app)}): ${error}`);
      return;
    }
    this.registry.addCronJob(jobName(app.id), job);
    job.start();
    this.nextRuns.set(app.id, new Date(firings[0])); // paid once here rather than by the first listing
    this.periods.set(app.id, firings[1] - firings[0]);
  }

  /** Milliseconds between firings, or null when the app has no job. */
  periodOf(appId: number): number | null {
    return this.periods.get(appId) ?? null;
  }

  /** Why an enabled app has no job, or null. */
  scheduleErrorOf(appId: number): string | null {
    return this.broken.get(appId)?.error ?? null;
  }

  brokenSchedules(): BrokenSchedule[] {
    return [...this.broken.values()];
  }

  jobCount(): number {
    return [...this.registry.getCronJobs().keys()].filter((name) => name.startsWith('backup:')).length;
  }

  private unschedule(appId: number): void {
    this.nextRuns.delete(appId);
    this.periods.delete(appId);
    this.broken.delete(appId);
    if (this.registry.doesExist('cron', jobName(appId))) this.registry.deleteCronJob(jobName(appId));
  }

  private async fire(app: AppEntity): Promise<void> {
    try {
      await this.runner.start(app.id, 'schedule');
    } catch (error) {
      // Nothing fails silently: a firing that cannot even start leaves a failed run saying why.
      await this.runs.failToStart(app, 'schedule', (error as Error).message).catch((e: Error) =>
        this.logger.error(`scheduled run of ${app.name} could not start (${(error as Error).message}) nor be recorded: ${e.message}`),
      );
    }
  }

  /** One run for each app whose last firing before now fell while the service was down. */
  private async catchUp(apps: AppEntity[]): Promise<void> {
    const lastScheduled = await this.runs.lastScheduledRunTimes();
    const now = Date.now();
    for (const app of apps) {
      const since = new Date(Math.max(app.updatedAt.getTime(), lastScheduled.get(app.id)?.getTime() ?? 0));
      const due = new CronTime(app.schedule, this.timezoneOf(app)).getNextDateFrom(since).toJSDate();
      if (due.getTime() > now) continue;
      this.logger.warn(`catching up ${app.name}: its firing at ${due.toISOString()} was missed while the service was down`);
      await this.fire(app);
    }
  }
}
