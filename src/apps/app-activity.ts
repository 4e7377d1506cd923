import type { AppEntity } from './app.entity';

export interface LastRunSummary {
  id: number;
  status: string;
  startedAt: Date | null;
  finishedAt: Date | null;
  bytes: number;
}

export interface AppActivityInfo {
  /** The zone the schedule runs in: the app's own or SCHEDULER_TIMEZONE. */
  timezone: string;
  nextRunAt: Date | null;
  /** Why the app is enabled but not scheduled (its stored schedule cannot be registered), or null. */
  scheduleError: string | null;
  lastRun: LastRunSummary | null;
  lastSuccessAt: Date | null;
  /** Enabled, and no successful backup for more than twice its schedule's period: someone should look. */
  stale: boolean;
}

/**
 * What a backup dashboard filters on; an app can be in several at once (a stale app that is running).
 * - ok: enabled, scheduled, not stale, and its newest run did not fail
 * - failed: its newest run failed
 * - stale: enabled and no successful backup for more than twice its schedule's period
 * - running: a run of it is queued or running
 * - schedule-error: enabled but its stored schedule cannot be registered (see scheduleError)
 * - disabled: not scheduled on purpose
 * - never-run: no run yet
 */
export const APP_STATUSES = ['ok', 'failed', 'partial', 'stale', 'running', 'schedule-error', 'disabled', 'never-run'] as const;
export type AppStatus = (typeof APP_STATUSES)[number];

/** The statuses someone should look at, most urgent first: the dashboard lists those apps before the rest. */
export const ATTENTION_STATUSES: readonly AppStatus[] = ['failed', 'partial', 'stale', 'schedule-error', 'running'];

/** The few columns a status needs: a pass over every app reads nothing else. */
export type AppBrief = Pick<AppEntity, 'id' | 'name' | 'enabled' | 'createdAt'>;

export interface AppState {
  statuses: AppStatus[];
  lastSuccessAt: Date | null;
}

export function statusesOf(app: Pick<AppEntity, 'enabled'>, info: Pick<AppActivityInfo, 'lastRun' | 'stale' | 'scheduleError'>, running: boolean): AppStatus[] {
  const failed = info.lastRun?.status === 'failed';
  // A backup stored in some destinations only: a problem to look at, though a backup exists.
  const partial = info.lastRun?.status === 'partial';
  const scheduleError = info.scheduleError !== null;
  const holds: Record<AppStatus, boolean> = {
    ok: app.enabled && !failed && !partial && !info.stale && !scheduleError,
    failed,
    partial,
    stale: info.stale,
    running,
    'schedule-error': scheduleError,
    disabled: !app.enabled,
    'never-run': info.lastRun === null,
  };
  return APP_STATUSES.filter((status) => holds[status]);
}

/**
 * What the rest of the service knows about registered apps (schedule and run history), as a port so
 * the registry shows it without depending on the backup module. Implemented there.
 */
export abstract class AppActivity {
  /** Everything a row shows, for the apps shown. */
  abstract describe(apps: AppEntity[]): Promise<Map<number, AppActivityInfo>>;
  /** What status filters and counts need, cheap enough for every app at once (no next firing computed). */
  abstract states(apps: AppBrief[]): Promise<Map<number, AppState>>;
  /** Grows whenever a run starts, ends or is recorded: statuses read before it grew may be out of date. */
  abstract historyVersion(): number;
}
