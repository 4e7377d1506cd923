import { DestinationsService } from '../destinations/destinations.service';
import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { APP_STATUSES, AppActivity, AppStatus, ATTENTION_STATUSES } from '../apps/app-activity';
import { AppListing, ListedApp } from '../apps/app-listing.service';
import { AppsService } from '../apps/apps.service';
import { InvalidFieldsError } from '../common/errors';
import { english, Locale, translateLogLine } from '../common/i18n';
import { RunResponse } from '../backup/dto/run.response';
import { decodeCursor, pageUrl } from '../common/pagination';
import { yieldWhenDue } from '../common/slices';
import { reasonsOf } from '../common/validation.pipe';
import { RunListQuery } from '../backup/dto/run-list.query';
import { takenAtOf } from '../backup/backup-names';
import { recordedAppVersion } from '../backup/app-version';
import { BackupsService } from '../backup/backups.service';
import { RUN_KINDS, RUN_STATUSES, RUN_TRIGGERS, RunEntity } from '../backup/run.entity';
import { RunsService } from '../backup/runs.service';
import { BackupPoint } from './backup-chart';
import { VerifyScheduler } from '../backup/verify-scheduler.service';
import { DrillScheduler } from '../backup/drill-scheduler.service';
import { selftestOf } from '../backup/selftest';

const DAY_MS = 24 * 60 * 60 * 1000;
/** One page of the dashboard renders at most this many rows, so its size and memory do not grow with the registry. */
const DASHBOARD = { pageSize: 50, attention: 20, staleNames: 10 };
const CHART_BACKUPS = 20;

type Timed = { startedAt: Date | null; finishedAt: Date | null };
const durationOf = (run: Timed) => (run.startedAt && run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null);
const withDuration = (run: RunEntity) => ({ ...run, durationMs: durationOf(run) });

/** The dashboard's query string, as typed in its search form or carried by its page links. */
export interface DashboardQuery {
  q?: unknown;
  status?: unknown;
  cursor?: unknown;
}

/** A blank field means "no filter" (the search form sends every field); anything but one string is refused. */
function textParameter(query: DashboardQuery, field: keyof DashboardQuery): string | undefined {
  const value = query[field];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || value.length > 1400) throw new InvalidFieldsError([{ field, reasons: [english('invalid.shortText')] }]);
  return value;
}

/** The view models of the admin pages, built from the same services as the API. */
@Injectable()
export class PagesService {
  constructor(
    private readonly apps: AppsService,
    private readonly listing: AppListing,
    private readonly activity: AppActivity,
    private readonly runs: RunsService,
    private readonly backups: BackupsService,
    private readonly verifier: VerifyScheduler,
    private readonly drills: DrillScheduler,
    private readonly destinations: DestinationsService,
  ) {}

  /**
   * Summary, the apps that need attention and one page of the registry in name order. The summary and the
   * attention list come from one pass over every app reading a few columns each (two index seeks per app),
   * the full rows only for the at most pageSize + attention apps shown.
   */
  async dashboard(raw: DashboardQuery, originalUrl: string) {
    const q = textParameter(raw, 'q');
    const status = textParameter(raw, 'status');
    const cursor = textParameter(raw, 'cursor');
    if (status !== undefined && !(APP_STATUSES as readonly string[]).includes(status)) {
      throw new InvalidFieldsError([{ field: 'status', reasons: [english('invalid.oneOf', { values: APP_STATUSES.join(', ') })] }]);
    }
    const filtered = q !== undefined || status !== undefined || cursor !== undefined;
    const [page, overview, recent, stored] = await Promise.all([
      this.listing.page({ limit: DASHBOARD.pageSize, cursor: cursor === undefined ? null : decodeCursor(cursor), q, status: status as AppStatus | undefined }),
      this.listing.overview(ATTENTION_STATUSES, Math.max(DASHBOARD.attention, DASHBOARD.staleNames)),
      this.runs.countSince(new Date(Date.now() - DAY_MS)),
      this.runs.keptBytes(),
    ]);
    // The rows and the rendering that follow must not add to the last slice of the passes above.
    await yieldWhenDue();
    // Most urgent first (failed, stale, schedule error, running), each app once.
    const attentionIds = [...new Set(ATTENTION_STATUSES.flatMap((wanted) => overview.first[wanted]!.map((app) => app.id)))].slice(0, DASHBOARD.attention);
    const attention = filtered ? [] : await this.listing.describeAll(attentionIds);
    const stale = overview.first.stale!.slice(0, DASHBOARD.staleNames);
    const rowOf = await this.rowsWithLastBackup([...page.items, ...attention]);
    return {
      apps: page.items.map(rowOf),
      pages: { next: page.next && pageUrl(originalUrl, page.next), prev: page.prev && pageUrl(originalUrl, page.prev) },
      filters: { q: q ?? '', status: status ?? '', active: q !== undefined || status !== undefined },
      statusOptions: APP_STATUSES.map((value) => ({ value, count: overview.counts[value], selected: value === status })),
      attention: { apps: attention.map(rowOf), more: overview.flaggedTotal - attention.length },
      summary: { apps: overview.total, runs24h: recent.runs, failures24h: recent.failures, stored },
      staleNames: stale.map((app) => app.name).join(', '),
      staleMore: overview.counts.stale - stale.length,
    };
  }

  /**
   * A row shows the app's last backup and, apart, its last verification: a restore or verification is no backup
   * (the app's status still follows its newest run of any kind). Two index seeks per app shown.
   */
  private async rowsWithLastBackup(rows: ListedApp[]) {
    const ids = rows.map((row) => row.app.id);
    const [backups, verifications] = await Promise.all([this.runs.latestOfKind('backup', ids), this.runs.latestVerifications(ids)]);
    return ({ app, activity }: ListedApp) => {
      const backup = backups.get(app.id);
      return { ...app, ...activity, lastBackup: backup && withDuration(backup), lastVerify: verifications.get(app.id) };
    };
  }

  /** The /runs page: every run, filtered as the API's GET /api/runs; a blank field of its form means "any". */
  async runList(raw: Record<string, unknown>, originalUrl: string) {
    const given = Object.fromEntries(Object.entries(raw).filter(([field, value]) => field !== 'lang' && value !== ''));
    const query = plainToInstance(RunListQuery, given);
    const errors = await validate(query, { whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: true });
    if (errors.length > 0) throw new InvalidFieldsError(errors.map((error) => ({ field: error.property, reasons: reasonsOf(error) })));
    const page = await this.runs.list(query, query.limit);
    const options = (values: readonly string[], selected: string | undefined) => values.map((value) => ({ value, selected: value === selected }));
    return {
      runs: page.items.map(withDuration),
      next: page.next === null ? null : pageUrl(originalUrl, String(page.next), 'before'),
      filters: {
        appId: query.appId,
        appName: page.items[0]?.appName,
        active: ['status', 'kind', 'trigger', 'appId', 'before'].some((field) => field in given),
      },
      statusOptions: options(RUN_STATUSES, query.status),
      kindOptions: options(RUN_KINDS, query.kind),
      triggerOptions: options(RUN_TRIGGERS, query.trigger),
    };
  }

  /** The app, its runs, and its backups in one of its destinations (`destination`: id or name; default its first), with a tab per destination. */
  async appPage(id: number, destination?: string) {
    const app = await this.apps.get(id);
    const targets = await this.destinations.targetsOf(app);
    const shown = targets.find((target) => String(target.destinationId) === destination || target.name === destination) ?? targets[0];
    const [activity, runs, backups, verifications, lastDrills, passedDrills] = await Promise.all([
      this.activity.describe([app]),
      this.runs.listForApp(id, 50).then((page) => page.items),
      this.backups.list(id, String(shown.destinationId)).then(
        // The restore dialog says when the backup was taken: the time in its name, not the file's modification time.
        (files) => ({ files: files.map((file) => ({ ...file, takenAt: takenAtOf(app.name, file.name) })), error: null }),
        (error: Error) => ({ files: [], error: error.message }),
      ),
      this.runs.latestVerifications([id]),
      this.runs.latestOfKind('drill', [id]),
      this.runs.latestSuccessfulDrills([id]),
    ]);
    const passed = passedDrills.get(id);
    const { tokenEncrypted, encryptionPassphraseEncrypted, drillTokenEncrypted, ...visible } = app; // sealed secrets never reach a view
    return {
      app: {
        ...visible,
        ...activity.get(app.id)!,
        lastVerify: verifications.get(id) ?? null,
        verifyPlan: this.verifier.planOf(app),
        hasDrillToken: drillTokenEncrypted !== null,
        nextDrillAt: this.drills.nextAt(app.id),
        lastDrill: lastDrills.get(id) ?? null,
        // "backup of …" says when the drilled backup was taken: the time in its name.
        lastPassedDrill: passed ? { ...passed, takenAt: passed.backupName ? takenAtOf(app.name, passed.backupName) : null } : null,
      },
      runs: runs.map(withDuration),
      backups,
      destinationTabs: targets.map((target) => ({ id: target.destinationId, name: target.name, folder: target.folder, active: target === shown })),
      destination: { id: shown.destinationId, name: shown.name, first: shown === targets[0] },
      chart: chartOf(runs),
    };
  }

  async liveRun(id: number, locale: Locale) {
    const run = RunResponse.from(await this.runs.get(id), (await this.runs.copiesOf([id])).get(id));
    return { ...run, log: run.log.map((line) => translateLogLine(locale, line)) };
  }

  async runPage(id: number) {
    const [run, copies] = await Promise.all([this.runs.get(id), this.runs.copiesOf([id])]);
    const finished = !['queued', 'running'].includes(run.status);
    return {
      copies: copies.get(id) ?? [],
      run: { ...withDuration(run), log: run.log.split('\n').filter(Boolean), finished, app: recordedAppVersion(run), selftest: selftestOf(run.selftest) },
      retry: run.status === 'failed' ? retryAction(run) : null,
      // An empty log box reads as a broken page: say why nothing was logged.
      emptyLog: !finished ? 'run.logWaiting' : run.status === 'failed' ? 'run.logEmptyFailed' : run.status === 'skipped' ? 'run.logEmptySkipped' : 'run.logEmpty',
    };
  }
}

/**
 * Where "Try again" posts for a failed run: the same action as the one that started it. A restore has none: it
 * replaces the app's data, so it starts again only from the app page with the name typed.
 */
function retryAction(run: RunEntity): string | null {
  if (run.kind === 'backup') return `/apps/${run.appId}/run`;
  if (run.kind === 'verify' && run.backupName) return `/apps/${run.appId}/backups/${encodeURIComponent(run.backupName)}/verify`;
  if (run.kind === 'drill') return `/apps/${run.appId}/drill`;
  return null;
}

/** The recent successful backups (no restore, no verification), oldest first: the app page's chart. */
function chartOf(runs: RunEntity[]): BackupPoint[] {
  return runs
    .filter((run) => run.kind === 'backup' && run.status === 'succeeded' && run.startedAt !== null)
    .slice(0, CHART_BACKUPS)
    .reverse()
    .map((run) => ({ id: run.id, startedAt: run.startedAt!, bytes: run.bytes, durationMs: durationOf(run) ?? 0 }));
}
