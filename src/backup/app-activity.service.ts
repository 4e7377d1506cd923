import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Injectable } from '@nestjs/common';
import { AppActivity, AppActivityInfo, AppBrief, AppState, statusesOf } from '../apps/app-activity';
import type { AppEntity } from '../apps/app.entity';
import { BackupScheduler } from './backup-scheduler.service';
import { RunsService } from './runs.service';

type HistoryFacts = Pick<AppActivityInfo, 'lastRun' | 'lastSuccessAt' | 'stale' | 'scheduleError'>;

/** A pass over every app reads the history in slices this size, letting other requests in between. */
const SLICE = 1000;

/** The registry's view of schedules and run history: two index seeks per app shown, never a pass over the history. */
@Injectable()
export class BackupAppActivity extends AppActivity {
  private version = 0;

  constructor(
    private readonly scheduler: BackupScheduler,
    private readonly runs: RunsService,
  ) {
    super();
    runs.onEvent(() => this.version++);
  }

  historyVersion(): number {
    return this.version;
  }

  async describe(apps: AppEntity[]): Promise<Map<number, AppActivityInfo>> {
    const facts = await this.factsOf(apps);
    return new Map(apps.map((app) => [app.id, {
      timezone: this.scheduler.timezoneOf(app),
      nextRunAt: this.scheduler.nextRunOf(app.id),
      ...facts.get(app.id)!,
    }]));
  }

  async states(apps: AppBrief[]): Promise<Map<number, AppState>> {
    const active = await this.runs.activeApps();
    const states = new Map<number, AppState>();
    for (let start = 0; start < apps.length; start += SLICE) {
      const slice = apps.slice(start, start + SLICE);
      // better-sqlite3 answers synchronously: without a real yield, the slices would not let anybody in.
      if (start > 0) await yieldToEventLoop();
      const facts = await this.factsOf(slice);
      for (const app of slice) {
        const info = facts.get(app.id)!;
        states.set(app.id, { statuses: statusesOf(app, info, active.has(app.id)), lastSuccessAt: info.lastSuccessAt });
      }
    }
    return states;
  }

  private async factsOf(apps: AppBrief[]): Promise<Map<number, HistoryFacts>> {
    const history = await this.runs.activityOf(apps.map((app) => app.id));
    const now = Date.now();
    return new Map(apps.map((app) => {
      const { lastRun, lastSuccessAt } = history.get(app.id) ?? { lastRun: null, lastSuccessAt: null };
      const period = this.scheduler.periodOf(app.id);
      const since = (lastSuccessAt ?? app.createdAt).getTime();
      return [app.id, { lastRun, lastSuccessAt, stale: period !== null && now - since > 2 * period, scheduleError: this.scheduler.scheduleErrorOf(app.id) }];
    }));
  }
}
