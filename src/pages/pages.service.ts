import { Injectable } from '@nestjs/common';
import { AppActivity } from '../apps/app-activity';
import { AppsService } from '../apps/apps.service';
import { BackupsService } from '../backup/backups.service';
import type { RunEntity } from '../backup/run.entity';
import { RunsService } from '../backup/runs.service';

const DAY_MS = 24 * 60 * 60 * 1000;
const CHART = { width: 600, height: 160, runs: 20 };

type Timed = { startedAt: Date | null; finishedAt: Date | null };
const durationOf = (run: Timed) => (run.startedAt && run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null);
const withDuration = (run: RunEntity) => ({ ...run, durationMs: durationOf(run) });

/** The view models of the admin pages, built from the same services as the API. */
@Injectable()
export class PagesService {
  constructor(
    private readonly apps: AppsService,
    private readonly activity: AppActivity,
    private readonly runs: RunsService,
    private readonly backups: BackupsService,
  ) {}

  async dashboard() {
    const apps = await this.apps.list();
    const [activity, recent, stored] = await Promise.all([
      this.activity.describe(apps),
      this.runs.countSince(new Date(Date.now() - DAY_MS)),
      this.runs.keptBytes(apps),
    ]);
    return {
      apps: apps.map((app) => {
        const info = activity.get(app.id)!;
        const last = info.lastRun;
        return { ...app, ...info, lastRun: last && { ...last, durationMs: durationOf(last) } };
      }),
      summary: { apps: apps.length, runs24h: recent.runs, failures24h: recent.failures, stored },
      staleNames: apps.filter((app) => activity.get(app.id)!.stale).map((app) => app.name).join(', '),
    };
  }

  async appPage(id: number) {
    const app = await this.apps.get(id);
    const [activity, runs, backups] = await Promise.all([
      this.activity.describe([app]),
      this.runs.listForApp(id, 50),
      this.backups.list(id).then(
        (files) => ({ files, error: null }),
        (error: Error) => ({ files: [], error: error.message }),
      ),
    ]);
    return { app: { ...app, ...activity.get(app.id)! }, runs: runs.map(withDuration), backups, chart: chartOf(runs) };
  }

  async runPage(id: number) {
    const run = await this.runs.get(id);
    return { run: { ...withDuration(run), log: run.log.split('\n').filter(Boolean) } };
  }
}

/** Bars for size and a line for duration of the recent successful runs, oldest first, as SVG coordinates. */
function chartOf(runs: RunEntity[]) {
  const done = runs.filter((run) => run.status === 'succeeded').slice(0, CHART.runs).reverse();
  if (done.length === 0) return null;
  const maxBytes = Math.max(...done.map((run) => run.bytes), 1);
  const maxDuration = Math.max(...done.map((run) => durationOf(run) ?? 0), 1);
  const slot = CHART.width / done.length;
  const bars = done.map((run, i) => {
    const height = Math.max(2, (run.bytes / maxBytes) * (CHART.height - 10));
    return { x: i * slot + slot * 0.15, y: CHART.height - height, width: slot * 0.7, height, bytes: run.bytes, id: run.id };
  });
  const line = done
    .map((run, i) => `${(i * slot + slot / 2).toFixed(1)},${(CHART.height - ((durationOf(run) ?? 0) / maxDuration) * (CHART.height - 10)).toFixed(1)}`)
    .join(' ');
  return { ...CHART, bars, line, maxBytes, maxDuration };
}
