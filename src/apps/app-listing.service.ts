import { Injectable } from '@nestjs/common';
import { Cursor, Page, toPage } from '../common/pagination';
import { APP_STATUSES, AppActivity, AppActivityInfo, AppBrief, AppState, AppStatus } from './app-activity';
import type { AppEntity } from './app.entity';
import { AppsService } from './apps.service';

export interface AppListQuery {
  limit: number;
  cursor: Cursor | null;
  q?: string;
  status?: AppStatus;
}

export interface ListedApp {
  app: AppEntity;
  activity: AppActivityInfo;
}

export type FlaggedApp = AppBrief & AppState;

export interface AppsOverview {
  total: number;
  counts: Record<AppStatus, number>;
  /** How many apps have at least one of the statuses asked for. */
  flaggedTotal: number;
  /** For each status asked for, its first apps in name order, at most `cap`. */
  first: Partial<Record<AppStatus, FlaggedApp[]>>;
}

/** A status filter reads the registry in slices of this many apps until a page is full. */
const SLICE = 500;

/** Lists of apps that stay cheap with thousands of them: pages in name order, and counts by status. */
@Injectable()
export class AppListing {
  constructor(
    private readonly apps: AppsService,
    private readonly activity: AppActivity,
  ) {}

  /** One page in name order; only the apps on it are described (next firing, last run). */
  async page(query: AppListQuery): Promise<Page<ListedApp>> {
    const rows = query.status ? await this.withStatus(query, query.status) : await this.apps.slice({ ...query, take: query.limit + 1 });
    const page = toPage(rows, query.limit, query.cursor, (app) => app.name);
    const activity = await this.activity.describe(page.items);
    return { ...page, items: page.items.map((app) => ({ app, activity: activity.get(app.id)! })) };
  }

  /**
   * A status depends on the run history, so it cannot be a WHERE clause: slices are read in name order and
   * filtered until limit + 1 apps match (the extra one tells that a next page exists). The cost is bounded by
   * the apps read, never by the history.
   */
  private async withStatus({ limit, cursor, q }: AppListQuery, status: AppStatus): Promise<AppEntity[]> {
    const found: AppEntity[] = [];
    let position = cursor;
    for (;;) {
      const slice = await this.apps.slice({ cursor: position, q, take: SLICE });
      const states = await this.activity.states(slice);
      found.push(...slice.filter((app) => states.get(app.id)!.statuses.includes(status)));
      if (found.length > limit || slice.length < SLICE) return found.slice(0, limit + 1);
      position = { direction: position?.direction ?? 'after', key: slice[slice.length - 1].name };
    }
  }

  /** Every app's statuses in one pass of a few columns per app (for health and the dashboard's summary). */
  async overview(wanted: readonly AppStatus[], cap: number): Promise<AppsOverview> {
    const briefs = await this.apps.briefs();
    const states = await this.activity.states(briefs);
    const counts = Object.fromEntries(APP_STATUSES.map((status) => [status, 0])) as Record<AppStatus, number>;
    const first: AppsOverview['first'] = Object.fromEntries(wanted.map((status) => [status, []]));
    let flaggedTotal = 0;
    for (const app of briefs) {
      const state = states.get(app.id)!;
      for (const status of state.statuses) counts[status]++;
      if (state.statuses.some((status) => wanted.includes(status))) flaggedTotal++;
      for (const status of wanted) {
        const list = first[status]!;
        if (state.statuses.includes(status) && list.length < cap) list.push({ ...app, ...state });
      }
    }
    return { total: briefs.length, counts, flaggedTotal, first };
  }

  /** Full rows for apps picked by overview(), in the order given. */
  async describeAll(ids: number[]): Promise<ListedApp[]> {
    const apps = await this.apps.findByIds(ids);
    const activity = await this.activity.describe(apps);
    const byId = new Map(apps.map((app) => [app.id, app]));
    return ids.filter((id) => byId.has(id)).map((id) => ({ app: byId.get(id)!, activity: activity.get(id)! }));
  }
}
