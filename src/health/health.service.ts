import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Dialect } from '../database/dialect';
import { AppListing } from '../apps/app-listing.service';
import { BackupScheduler, BrokenSchedule } from '../backup/backup-scheduler.service';
import { FailedVerification, RunsService } from '../backup/runs.service';
import { AppConfig } from '../config/app-config';
import { RcloneAdapter } from '../storage/rclone.adapter';
import { ReplicaLeases } from '../cluster/replica-leases.service';
import { english } from '../common/i18n';

type Check<T = object> = ({ status: 'ok' } & T) | { status: 'error'; error: string };

export interface AppFreshness {
  id: number;
  name: string;
  lastSuccessAt: Date | null;
  stale: boolean;
}

/** Stale apps are listed up to this many: the answer stays small with thousands of apps (Docker polls it). */
export const STALE_SHOWN = 50;

export interface Freshness {
  /** Apps registered. */
  total: number;
  /** Apps that are stale, all counted. */
  stale: number;
  /** Apps whose last run stored its backup in some destinations only (partial), all counted. */
  partial: number;
  /** The first stale apps by name, at most STALE_SHOWN. */
  apps: AppFreshness[];
  /** Stale apps not listed. */
  more: number;
}

/** An app whose newest backup failed its latest verification: marked degraded. */
export interface FailedVerificationReport extends FailedVerification {
  status: 'degraded';
}

export interface HealthReport {
  status: 'ok' | 'degraded' | 'error';
  checks: {
    database: Check;
    rclone: Check<{ version: string }>;
    scheduler: { status: 'ok'; jobs: number } | { status: 'error'; error: string; jobs: number; broken: BrokenSchedule[]; more: number };
    backups: Check<Freshness>;
    verification: { status: 'ok'; failed: 0 } | { status: 'error'; error: string; failed: number; apps: FailedVerificationReport[]; more: number };
    /** Zones of enabled apps with no live replica: their runs fail "no replica in zone X" until one starts. */
    zones: { status: 'ok' } | { status: 'error'; error: string; unserved: { zone: string; apps: number }[] };
  };
}

/**
 * Hand-written rather than @nestjs/terminus: terminus knows only ok and error, and answers 503 as soon as one indicator
 * is down, while here only the database makes the service unusable (error, 503) and rclone, schedules and stale apps
 * make it `degraded` with a 200 (a restart fixes none of them, so Docker must not restart it); its body
 * (`info`/`error`/`details`) is not this API's `checks`, and its TypeORM indicator only reads (SELECT 1).
 */
@Injectable()
export class HealthService {
  /** The database file this process opened: if the path later names another file (or none), data is being lost. */
  private readonly databaseFile: { path: string; dev: number; ino: number } | null;
  private readonly sql: Dialect;

  constructor(
    config: AppConfig,
    dataSource: DataSource,
    private readonly rclone: RcloneAdapter,
    private readonly scheduler: BackupScheduler,
    private readonly listing: AppListing,
    private readonly runs: RunsService,
    private readonly replicas: ReplicaLeases,
  ) {
    this.sql = new Dialect(dataSource);
    // Cluster mode has no file: PostgreSQL is the one to watch its storage.
    const { dev, ino } = config.databaseUrl ? { dev: 0, ino: 0 } : statSync(config.databasePath);
    this.databaseFile = config.databaseUrl ? null : { path: config.databasePath, dev, ino };
  }

  /**
   * Without a database that takes writes nothing works (error, 503). Without rclone, with an app that cannot be scheduled or whose zone has no replica,
   * with overdue apps, or with an app whose newest backup failed verification, the service still answers but needs a look (degraded, 200): restarting the
   * container would not fix any of them.
   */
  async report(): Promise<HealthReport> {
    const [database, rclone, backups, failedVerifications, zones] = await Promise.all([
      probe(() => this.checkDatabase()),
      probe(async () => ({ version: await this.rclone.version() })),
      probe(() => this.freshness()),
      this.runs.failedVerifications().catch(() => []),
      this.zonesCheck(),
    ]);
    const scheduler = this.schedulerCheck();
    const verification = verificationCheck(failedVerifications);
    const degraded = rclone.status === 'error' || scheduler.status === 'error' || (backups.status === 'ok' && (backups.stale > 0 || backups.partial > 0)) || verification.status === 'error' || zones.status === 'error';
    const status = database.status === 'error' ? 'error' : degraded ? 'degraded' : 'ok';
    return { status, checks: { database, rclone, scheduler, backups, verification, zones } };
  }

  /** Reads are not enough: a full disk or a deleted file still answers SELECT 1, while every run's outcome is lost. */
  private async checkDatabase(): Promise<object> {
    const file = this.databaseFile;
    const now = file && statSync(file.path, { throwIfNoEntry: false });
    if (file && (now?.dev !== file.dev || now.ino !== file.ino)) {
      throw new Error(`the database file ${file.path} was ${now ? 'replaced' : 'deleted'} while the service was running: ` +
        'nothing written now is kept; restore the file (or stop the service and start it on the new file)');
    }
    try {
      await this.sql.query(
        `INSERT INTO health_probe (id, "checkedAt") VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET "checkedAt" = excluded."checkedAt"`,
        [new Date().toISOString()],
      );
    } catch (error) {
      const where = file ? `check the free space under ${dirname(file.path)}` : 'check the PostgreSQL server';
      throw new Error(`the database cannot be written (${(error as Error).message}): ${where}`);
    }
    return {};
  }

  /** Enabled apps without a job never back up: the others run, but someone must fix those. */
  private schedulerCheck(): HealthReport['checks']['scheduler'] {
    const jobs = this.scheduler.jobCount();
    const broken = this.scheduler.brokenSchedules();
    if (broken.length === 0) return { status: 'ok', jobs };
    // Capped like the stale list: a bad migration could break every app's schedule at once.
    const shown = broken.slice(0, STALE_SHOWN);
    const more = broken.length - shown.length;
    const names = shown.map((app) => app.name).join(', ');
    return { status: 'error', error: `not scheduled: ${names}${more > 0 ? ` and ${more} more` : ''}`, jobs, broken: shown, more };
  }

  /** An app of a zone no live replica serves is never backed up: the others are, but a replica must be started there. */
  private async zonesCheck(): Promise<HealthReport['checks']['zones']> {
    // Unreadable: the database check reports it.
    const unserved = await this.replicas.unservedZones().catch(() => []);
    if (unserved.length === 0) return { status: 'ok' };
    return { status: 'error', error: unserved.map(({ zone }) => english('failure.noReplicaInZone', { zone })).join('; '), unserved };
  }

  private async freshness(): Promise<Freshness> {
    const { total, counts, first } = await this.listing.overview(['stale'], STALE_SHOWN);
    const apps = first.stale!.map(({ id, name, lastSuccessAt }) => ({ id, name, lastSuccessAt, stale: true }));
    return { total, stale: counts.stale, partial: counts.partial, apps, more: counts.stale - apps.length };
  }
}

/** A backup that failed verification cannot be trusted for a restore: someone must look (degraded, still 200). */
function verificationCheck(failed: FailedVerification[]): HealthReport['checks']['verification'] {
  if (failed.length === 0) return { status: 'ok', failed: 0 };
  const apps = failed.slice(0, STALE_SHOWN).map((app) => ({ ...app, status: 'degraded' as const }));
  const more = failed.length - apps.length;
  const names = apps.map((app) => app.name).join(', ');
  return { status: 'error', error: `newest backup failed verification: ${names}${more > 0 ? ` and ${more} more` : ''}`, failed: failed.length, apps, more };
}

async function probe<T extends object>(check: () => Promise<T>): Promise<Check<T>> {
  try {
    return { status: 'ok', ...(await check()) };
  } catch (error) {
    return { status: 'error', error: (error as Error).message };
  }
}
