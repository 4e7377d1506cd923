import { setTimeout as sleep } from 'node:timers/promises';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob, CronTime } from 'cron';
import type { AppEntity } from '../apps/app.entity';
import { AppChange, AppsService } from '../apps/apps.service';
import { AuditService } from '../audit/audit.service';
import { forEachInSlices } from '../common/slices';
import { AppConfig } from '../config/app-config';
import { BackupRunner } from './backup-runner.service';
import { startCronJob } from './cron-job';
import { RunsService } from './runs.service';
import type { RunEntity } from './run.entity';
import { Firing as QueuedFiring, firingApp, FiringQueue, firingTime, TakenFiring, takenFiring } from '../cluster/firing-queue';
import { timeZoneOf } from '../apps/app-time-zone';

const jobName = (appId: number) => `backup:${appId}`;
const scheduleKey = (schedule: string, timezone: string) => `${timezone} ${schedule}`;
/** Apps read from the database at a time while registering (a full page of them takes a few milliseconds). */
const PAGE = 200;
/** How long the boot waits for a registry of less than a page to be registered before listening. */
const BOOT_WAIT_MS = 300;
/** An enabled app that has no job: its stored schedule or zone is one the cron library refuses. */
export interface BrokenSchedule {
  id: number;
  name: string;
  error: string;
}

/** Apps that fire together: one cron job for every enabled app of the same schedule and zone. */
interface Firing {
  job: CronJob;
  apps: Map<number, AppEntity>;
}

/**
 * A cron job for each enabled app, named `backup:<id>` in SchedulerRegistry, kept in step with the
 * registry as it changes: what the API says will run is what runs. Apps of the same schedule and zone share
 * one job, registered under each of their names: a job computes its next firing in luxon (~0.5 ms, more
 * under load) and holds ~3 KB, and 10 000 apps have far fewer distinct schedules than apps.
 */
@Injectable()
export class BackupScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(BackupScheduler.name);
  /** cron's nextDate() costs ~0.4 ms; listing 1000 apps must not pay it 1000 times per request. By schedule and zone. */
  private readonly nextRuns = new Map<string, Date>();
  /** Each scheduled app's schedule and zone, the key of `firings` and `periods`. */
  private readonly schedules = new Map<number, string>();
  private readonly firings = new Map<string, Firing>();
  /** Time between two firings, by schedule and zone: apps that share a schedule share the cost. */
  private readonly periods = new Map<string, number>();
  private readonly broken = new Map<number, BrokenSchedule>();
  /** Apps read at boot whose job is not registered yet (of the page being registered). */
  private readonly pending = new Map<number, AppEntity>();
  private registration: Promise<void> = Promise.resolve();
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
    queue.handle('backup', (firing) => this.runFiring(firing));
  }

  /**
   * Cron computes each job's first firing as it starts it (~0.5 ms a distinct schedule, in luxon), and reading
   * 10 000 rows at once holds the event loop too. Apps are read a page at a time and their jobs registered in
   * slices that yield, so the service listens at once and keeps answering; a registry that fits in one page is
   * complete before it listens, as it always was.
   */
  async onApplicationBootstrap(): Promise<void> {
    const first = await this.apps.slice({ cursor: null, take: PAGE });
    this.registration = this.registerAll(first);
    if (first.length < PAGE) await Promise.race([this.registration, sleep(BOOT_WAIT_MS)]);
  }

  /** Resolves once every app read at boot has its job (and, with CATCH_UP_MISSED, its missed firing run). */
  registered(): Promise<void> {
    return this.registration;
  }

  private async registerAll(first: AppEntity[]): Promise<void> {
    const scheduled: AppEntity[] = [];
    const stopped = () => this.closing;
    let total = 0;
    for (let page = first; ; ) {
      for (const app of page) this.pending.set(app.id, app);
      total += page.length;
      await forEachInSlices(page, (app) => {
        // An app changed or deleted meanwhile was already followed: its row from the boot is stale.
        if (this.pending.get(app.id) !== app) return;
        this.pending.delete(app.id);
        if (this.schedule(app)) scheduled.push(app);
      }, stopped);
      if (this.closing) return;
      if (page.length < PAGE) break;
      page = await this.apps.slice({ cursor: { direction: 'after', key: page[page.length - 1].name }, take: PAGE });
    }
    this.logger.log(`scheduled ${this.jobCount()} of ${total} apps`);
    // Only apps with a job: a broken one has no firing to catch up.
    if (this.config.scheduler.catchUpMissed) await this.catchUp(scheduled);
    await forEachInSlices(scheduled, (app) => this.periodOf(app.id, true), stopped);
  }

  beforeApplicationShutdown(): void {
    this.closing = true;
    for (const name of this.registry.getCronJobs().keys()) {
      if (name.startsWith('backup:')) this.registry.deleteCronJob(name); // deleteCronJob also stops it
    }
    this.firings.clear();
    this.nextRuns.clear();
  }

  timezoneOf(app: AppEntity): string {
    return timeZoneOf(app, this.config);
  }

  nextRunOf(appId: number): Date | null {
    const key = this.schedules.get(appId);
    if (key === undefined) return null;
    const cached = this.nextRuns.get(key);
    if (cached && cached.getTime() > Date.now()) return cached;
    const next = this.firings.get(key)!.job.nextDate().toJSDate();
    this.nextRuns.set(key, next);
    return next;
  }

  private follow(change: AppChange): void {
    this.pending.delete(change.app.id);
    this.unschedule(change.app.id);
    if (change.kind === 'saved' && this.schedule(change.app)) this.periodOf(change.app.id, true);
  }

  /**
   * Registers the app's job, joining the job of its schedule and zone when there is one. A row the cron
   * library refuses (a schedule that never fires, an unknown zone: the API refuses both, but older versions or
   * a hand edit may have stored one) leaves that app without a job and reported as broken, instead of failing
   * the boot or the request that saved it.
   */
  private schedule(app: AppEntity): boolean {
    if (!app.enabled) return false;
    this.unschedule(app.id);
    const key = scheduleKey(app.schedule, this.timezoneOf(app));
    let firing = this.firings.get(key);
    if (!firing) {
      const apps = new Map<number, AppEntity>();
      const timeZone = this.timezoneOf(app);
      // The tick only queues the runs, so a firing during a long run reaches the runner and is recorded as skipped.
      const job = startCronJob(app.schedule, timeZone, () => this.fireAll(apps, firingTime(app.schedule, timeZone)));
      if (typeof job === 'string') {
        this.broken.set(app.id, { id: app.id, name: app.name, error: job });
        this.logger.error(`app ${app.name} (id ${app.id}) is not scheduled ("${app.schedule}" in ${timeZone}): ${job}`);
        return false;
      }
      firing = { job, apps };
      this.firings.set(key, firing);
    }
    firing.apps.set(app.id, app);
    this.registry.addCronJob(jobName(app.id), firing.job);
    this.schedules.set(app.id, key);
    return true;
  }

  /**
   * Milliseconds between two firings, for overdue detection, or null when the app has no job or it is
   * not known yet (measured after the boot's registration, once per distinct schedule and zone).
   */
  periodOf(appId: number, measure = false): number | null {
    const key = this.schedules.get(appId);
    if (key === undefined) return null;
    if (measure && !this.periods.has(key)) {
      const [first, second] = this.registry.getCronJob(jobName(appId)).nextDates(2);
      this.periods.set(key, second.toMillis() - first.toMillis());
    }
    return this.periods.get(key) ?? null;
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
    const key = this.schedules.get(appId);
    this.schedules.delete(appId);
    this.broken.delete(appId);
    if (key === undefined) return;
    const firing = this.firings.get(key)!;
    firing.apps.delete(appId);
    // SchedulerRegistry removes a name only by stopping its job: the job goes on for the apps still on it.
    this.registry.deleteCronJob(jobName(appId));
    if (firing.apps.size > 0) firing.job.start();
    else {
      this.firings.delete(key);
      this.nextRuns.delete(key);
    }
  }

  /** Submits the firing due at `due` of each app, in slices: thousands of apps may share a schedule. */
  private async fireAll(apps: Map<number, AppEntity>, due: Date): Promise<void> {
    const firing: Promise<void>[] = [];
    await forEachInSlices([...apps.values()], (app) => firing.push(this.submit(app, due)), () => this.closing);
    await Promise.all(firing);
  }

  /**
   * Hands the firing to the queue: embedded, straight to fire(); in a cluster, to pg-boss, where the same firing
   * submitted by every replica is one job that one replica runs.
   */
  private async submit(app: AppEntity, due: Date): Promise<void> {
    try {
      await this.queue.submit({ appId: app.id, kind: 'backup', due: due.toISOString(), zone: app.zone, schedule: this.scheduledAs(app)! });
    } catch (error) {
      await this.failToStart(app, error as Error);
    }
  }

  /** The schedule a firing of the app comes from; null for a disabled app, which has none. */
  private scheduledAs(app: AppEntity): string | null {
    return app.enabled ? scheduleKey(app.schedule, this.timezoneOf(app)) : null;
  }

  /**
   * A firing taken from the queue (by this replica): the run's end, for the queue to know when this replica has a slot
   * again. Nothing runs for an app deleted, disabled or given another schedule since the firing (see firingApp).
   */
  private async runFiring(firing: QueuedFiring): Promise<TakenFiring> {
    const app = await firingApp(firing, this.apps, (current) => this.scheduledAs(current));
    return takenFiring(app && (await this.fire(app)), (runId) => this.runner.settled(runId));
  }

  private async fire(app: AppEntity): Promise<RunEntity | null> {
    try {
      const run = await this.runner.start(app.id, 'schedule');
      await this.audit.recordScheduled('run.request', app);
      return run;
    } catch (error) {
      await this.failToStart(app, error as Error);
      return null;
    }
  }

  private async failToStart(app: AppEntity, error: Error): Promise<void> {
    await this.audit.recordScheduled('run.request', app, error.message);
    // Nothing fails silently: a firing that cannot even start leaves a failed run saying why.
    await this.runs.failToStart(app, 'schedule', error.message).catch((e: Error) =>
      this.logger.error(`scheduled run of ${app.name} could not start (${error.message}) nor be recorded: ${e.message}`),
    );
  }

  /** One run for each app whose last firing before now fell while the service was down. */
  private async catchUp(apps: AppEntity[]): Promise<void> {
    const lastScheduled = await this.runs.lastScheduledRunTimes();
    const now = Date.now();
    const missed: { app: AppEntity; due: Date }[] = [];
    await forEachInSlices(apps, (app) => {
      const since = new Date(Math.max(app.updatedAt.getTime(), lastScheduled.get(app.id)?.getTime() ?? 0));
      const zone = this.timezoneOf(app);
      // getNextDateFrom ignores the zone the CronTime was made with: it must be given again.
      const due = new CronTime(app.schedule, zone).getNextDateFrom(since, zone).toJSDate();
      if (due.getTime() <= now) missed.push({ app, due });
    }, () => this.closing);
    for (const { app, due } of missed) {
      if (this.closing) return;
      this.logger.warn(`catching up ${app.name}: its firing at ${due.toISOString()} was missed while the service was down`);
      await this.submit(app, due);
    }
  }
}
