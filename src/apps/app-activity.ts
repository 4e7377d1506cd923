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
 * What the rest of the service knows about registered apps (schedule and run history), as a port so
 * the registry shows it without depending on the backup module. Implemented there.
 */
export abstract class AppActivity {
  abstract describe(apps: AppEntity[]): Promise<Map<number, AppActivityInfo>>;
}
