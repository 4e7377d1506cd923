import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RunEntity } from '../backup/run.entity';
import { RunEvent, RunsService } from '../backup/runs.service';
import { forEachInSlices } from '../common/slices';
import { AppConfig } from '../config/app-config';

type StoredCopy = { appName: string; destination: string; finishedAt: Date };
const copyKey = (copy: StoredCopy) => `${copy.appName}\n${copy.destination}`;

/** Cluster mode: scrapes that come within this long of a refresh of the state gauges are answered from it. */
const REFRESH_MS = 1000;

/**
 * Prometheus metrics of the runs, fed by run events; state gauges are rebuilt from history at boot. Counters and
 * `backup_running` count this process's runs; in cluster mode the state gauges are the cluster's (see scrape).
 */
@Injectable()
export class MetricsService implements OnModuleInit {
  readonly registry = new Registry();
  /** Runs this process saw start: only those count down `backup_running` when they finish. */
  private readonly started = new Set<number>();
  /** Apps whose state gauges a run set since the boot: the history read at boot is older for them. */
  private readonly current = new Set<string>();
  /** Apps whose verification (drill) gauge a finished run set while the boot rebuilt the gauges: the run's value is newer. */
  private readonly verifiedLive = new Set<string>();
  private readonly drilledLive = new Set<string>();
  /** Copies (app and destination) a finished run set the destination gauge of while the boot rebuilt it. */
  private readonly copiesLive = new Set<string>();
  private readonly logger = new Logger(MetricsService.name);
  private readonly runsTotal = new Counter({ name: 'backup_runs_total', help: 'Runs by app, final status and trigger', labelNames: ['app', 'status', 'trigger'], registers: [this.registry] });
  private readonly bytesTotal = new Counter({ name: 'backup_bytes_total', help: 'Bytes stored by successful runs', labelNames: ['app'], registers: [this.registry] });
  private readonly duration = new Histogram({
    name: 'backup_duration_seconds',
    help: 'Duration of successful runs',
    labelNames: ['app'],
    buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600],
    registers: [this.registry],
  });
  private readonly lastSuccess = new Gauge({ name: 'backup_last_success_timestamp_seconds', help: 'When the last successful run finished', labelNames: ['app'], registers: [this.registry] });
  private readonly lastSize = new Gauge({ name: 'backup_last_size_bytes', help: 'Size of the last successful backup', labelNames: ['app'], registers: [this.registry] });
  private readonly running = new Gauge({ name: 'backup_running', help: 'Runs in progress', labelNames: ['app'], registers: [this.registry] });
  private readonly retentionDeleted = new Counter({ name: 'retention_deleted_total', help: 'Backups deleted by retention', labelNames: ['app'], registers: [this.registry] });
  // Per destination (3-2-1): each copy a backup run made or failed to make, and what retention deleted there.
  private readonly copiesTotal = new Counter({
    name: 'backup_destination_copies_total', help: 'Copies of backup runs by app, destination and outcome (succeeded, failed)',
    labelNames: ['app', 'destination', 'status'], registers: [this.registry],
  });
  private readonly destinationLastSuccess = new Gauge({
    name: 'backup_destination_last_success_timestamp_seconds', help: 'When the last copy stored in this destination finished',
    labelNames: ['app', 'destination'], registers: [this.registry],
  });
  private readonly destinationDeleted = new Counter({
    name: 'retention_destination_deleted_total', help: 'Backups deleted by retention, by destination', labelNames: ['app', 'destination'], registers: [this.registry],
  });
  private readonly lastVerified = new Gauge({
    name: 'backup_last_verified_timestamp_seconds',
    help: 'When the last successful verification (stored file read back and matching its recorded SHA-256) finished',
    labelNames: ['app'],
    registers: [this.registry],
  });
  private readonly verifyFailures = new Counter({ name: 'backup_verify_failures_total', help: 'Verifications that failed (manual or scheduled)', labelNames: ['app'], registers: [this.registry] });
  private readonly lastDrill = new Gauge({
    name: 'backup_last_drill_success_timestamp_seconds',
    help: "When the last successful restore drill (backup restored into the drill instance, whose selftest passed) finished",
    labelNames: ['app'],
    registers: [this.registry],
  });
  private readonly drillFailures = new Counter({ name: 'backup_drill_failures_total', help: 'Restore drills that failed (manual or scheduled)', labelNames: ['app'], registers: [this.registry] });
  /** Verifications and drills: each a check of a stored backup, with a gauge of its last success and a count of failures. */
  private readonly checks = {
    verify: { last: this.lastVerified, failures: this.verifyFailures, live: this.verifiedLive },
    drill: { last: this.lastDrill, failures: this.drillFailures, live: this.drilledLive },
  } as const;

  private refresh: { at: number; done: Promise<void> } | null = null;

  constructor(
    private readonly runs: RunsService,
    private readonly config: AppConfig,
  ) {
    collectDefaultMetrics({ register: this.registry });
    runs.onEvent((event) => this.record(event));
  }

  /**
   * Not awaited: with thousands of apps, setting their gauges (a few µs each) would delay listening, so it goes on in
   * slices while the service starts; a registry of a few hundred apps is done before the first request is read.
   */
  onModuleInit(): void {
    this.runs
      .latestSuccessfulBackups()
      .then((runs) => forEachInSlices(runs, (run) => this.current.has(run.appName) || this.recordState(run)))
      .catch((error: Error) => this.logger.error(`the backup state gauges could not be rebuilt from the history: ${error.message}`));
    this.runs
      .latestSuccessfulVerifications()
      .then((runs) => forEachInSlices([...runs.values()], (run) => this.verifiedLive.has(run.appName) || this.recordChecked(this.lastVerified, run)))
      .catch((error: Error) => this.logger.error(`the verification gauges could not be rebuilt from the history: ${error.message}`));
    this.runs
      .latestSuccessfulDrills()
      .then((runs) => forEachInSlices([...runs.values()], (run) => this.drilledLive.has(run.appName) || this.recordChecked(this.lastDrill, run)))
      .catch((error: Error) => this.logger.error(`the drill gauges could not be rebuilt from the history: ${error.message}`));
    this.runs
      .latestSuccessfulCopies()
      .then((copies) => forEachInSlices(copies, (copy) => this.copiesLive.has(copyKey(copy)) || this.recordCopy(copy)))
      .catch((error: Error) => this.logger.error(`the destination gauges could not be rebuilt from the history: ${error.message}`));
  }

  /**
   * The text of a scrape. In cluster mode a backup, verification or drill that another replica ran moves this one's
   * state gauges too: they are read again from the database first (the boot's per-app index lookups), so that a
   * load balancer in front of the replicas never shows a backup as older than it is.
   */
  async scrape(): Promise<string> {
    if (this.config.databaseUrl) await this.refreshState();
    return this.registry.metrics();
  }

  private refreshState(): Promise<void> {
    if (this.refresh && Date.now() - this.refresh.at < REFRESH_MS) return this.refresh.done;
    const done = (async () => {
      const [backups, verifications, drills, copies] = await Promise.all([
        this.runs.latestSuccessfulBackups(), this.runs.latestSuccessfulVerifications(), this.runs.latestSuccessfulDrills(), this.runs.latestSuccessfulCopies(),
      ]);
      await forEachInSlices(backups, (run) => this.recordState(run));
      await forEachInSlices(copies, (copy) => this.recordCopy(copy));
      await forEachInSlices([...verifications.values()], (run) => this.recordChecked(this.lastVerified, run));
      await forEachInSlices([...drills.values()], (run) => this.recordChecked(this.lastDrill, run));
    })().catch((error: Error) => {
      // Not kept: the next scrape tries again (and this one answers with the gauges as they were).
      this.refresh = null;
      this.logger.error(`the state gauges could not be read from the database: ${error.message}`);
    });
    this.refresh = { at: Date.now(), done };
    return done;
  }

  private record(event: RunEvent): void {
    if (event.run.kind === 'verify' || event.run.kind === 'drill') return this.recordCheck(this.checks[event.run.kind], event);
    // Restores have their own runs; these metrics describe backups.
    if (event.run.kind !== 'backup') return;
    const app = event.run.appName;
    if (event.kind === 'started') {
      this.started.add(event.run.id);
      return void this.running.inc({ app });
    }
    if (event.kind === 'deleted') {
      this.destinationDeleted.inc({ app, destination: event.destination });
      return void this.retentionDeleted.inc({ app });
    }
    const { run } = event;
    this.runsTotal.inc({ app, status: run.status, trigger: run.trigger });
    if (this.started.delete(run.id)) this.running.dec({ app });
    for (const copy of event.copies ?? []) {
      this.copiesTotal.inc({ app, destination: copy.destination, status: copy.status });
      if (copy.status !== 'succeeded') continue;
      const stored = { appName: app, destination: copy.destination, finishedAt: run.finishedAt! };
      this.copiesLive.add(copyKey(stored));
      this.recordCopy(stored);
    }
    // A partial run left a backup: it counts for the bytes, the duration and the last success like a full one.
    if (run.status !== 'succeeded' && run.status !== 'partial') return;
    this.bytesTotal.inc({ app }, run.bytes);
    this.duration.observe({ app }, (run.finishedAt!.getTime() - run.startedAt!.getTime()) / 1000);
    this.current.add(app);
    this.recordState(run);
  }

  private recordCheck(check: { last: Gauge; failures: Counter; live: Set<string> }, { kind, run }: RunEvent): void {
    if (kind !== 'finished') return;
    if (run.status === 'succeeded') {
      check.live.add(run.appName);
      this.recordChecked(check.last, run);
    }
    if (run.status === 'failed') check.failures.inc({ app: run.appName });
  }

  private recordChecked(last: Gauge, run: RunEntity): void {
    last.set({ app: run.appName }, run.finishedAt!.getTime() / 1000);
  }

  private recordCopy(copy: StoredCopy): void {
    this.destinationLastSuccess.set({ app: copy.appName, destination: copy.destination }, copy.finishedAt.getTime() / 1000);
  }

  private recordState(run: Pick<RunEntity, 'appName' | 'finishedAt' | 'bytes'>): void {
    this.lastSuccess.set({ app: run.appName }, run.finishedAt!.getTime() / 1000);
    this.lastSize.set({ app: run.appName }, run.bytes);
  }
}
