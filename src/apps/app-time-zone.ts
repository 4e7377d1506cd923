import type { AppConfig } from '../config/app-config';
import type { AppEntity } from './app.entity';

/** The zone an app's schedules (backup, verification, drill) and its calendar retention are read in: its own, or SCHEDULER_TIMEZONE. */
export function timeZoneOf(app: Pick<AppEntity, 'timezone'>, config: Pick<AppConfig, 'scheduler'>): string {
  return app.timezone ?? config.scheduler.timezone;
}
