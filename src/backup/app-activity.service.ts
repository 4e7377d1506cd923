import { Injectable } from '@nestjs/common';
import { AppActivity, AppActivityInfo } from '../apps/app-activity';
import type { AppEntity } from '../apps/app.entity';
import { BackupScheduler } from './backup-scheduler.service';
import { RunsService } from './runs.service';

/** The registry's view of schedules and run history: one query for all the apps shown. */
@Injectable()
export class BackupAppActivity extends AppActivity {
  constructor(
    private readonly scheduler: BackupScheduler,
    private readonly runs: RunsService,
  ) {
    super();
  }

  async describe(apps: AppEntity[]): Promise<Map<number, AppActivityInfo>> {
    const ids = apps.map((app) => app.id);
    const [lastRuns, lastSuccesses] = await Promise.all([this.runs.latestOf(ids), this.runs.latestSuccessfulBackups(ids)]);
    const now = Date.now();
    return new Map(
      apps.map((app) => {
        const last = lastRuns.get(app.id);
        const lastSuccessAt = lastSuccesses.get(app.id)?.finishedAt ?? null;
        const period = this.scheduler.periodOf(app.id);
        const since = (lastSuccessAt ?? app.createdAt).getTime();
        return [app.id, {
          timezone: this.scheduler.timezoneOf(app),
          nextRunAt: this.scheduler.nextRunOf(app.id),
          scheduleError: this.scheduler.scheduleErrorOf(app.id),
          lastRun: last ? { id: last.id, status: last.status, startedAt: last.startedAt, finishedAt: last.finishedAt, bytes: last.bytes } : null,
          lastSuccessAt,
          stale: period !== null && now - since > 2 * period,
        }];
      }),
    );
  }
}
