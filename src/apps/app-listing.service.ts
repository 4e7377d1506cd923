import { Injectable } from '@nestjs/common';
import { Cursor, Page, toPage } from '../common/pagination';
import { yieldWhenDue } from '../common/slices';
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
/** A count over every app reads this many at a time (a few milliseconds of synchronous SQLite), yielding when due. */
const CENSUS_PAGE = 250;
/** How many first apps of each status a count keeps: the most any caller lists. */
const CENSUS_FIRST = 50;
const BIT = Object.fromEntries(APP_STATUSES.map((status, i) => [status, 1 << i])) as Record<AppStatus, number>;

interface Census {
  total: number;
  counts: Record<AppStatus, number>;
  /** How many apps have each combination of statuses (a bit each): the flagged total of any set of statuses. */
  combinations: Map<number, number>;
  first: Record<AppStatus, FlaggedApp[]>;
}

/** Lists of apps that stay cheap with thousands of them: pages in name order, and counts by status. */
@Injectable()
export class AppListing {
  private registryVersion = 0;
  /** The count under way, if any. */
  private census: { version: string; pass: Promise<Census> } | null = null;

  constructor(
    private readonly apps: AppsService,
    private readonly activity: AppActivity,
  ) {
    apps.onChange(() => this.registryVersion++);
  }

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

  /**
   * Every app's statuses counted (for health and the dashboard's summary), with the first apps of each
   * status in name order, at most `cap` (≤ CENSUS_FIRST) of each.
   */
  async overview(wanted: readonly AppStatus[], cap: number): Promise<AppsOverview> {
    const { total, counts, combinations, first } = await this.currentCensus();
    const mask = wanted.reduce((bits, status) => bits | BIT[status], 0);
    let flaggedTotal = 0;
    for (const [combination, apps] of combinations) if (combination & mask) flaggedTotal += apps;
    return { total, counts, flaggedTotal, first: Object.fromEntries(wanted.map((status) => [status, first[status].slice(0, cap)])) };
  }

  /**
   * Callers at the same time share one pass (four dashboards loading at once cost one pass, in time and in
   * memory), unless the registry changed or a run started or ended since it began. A finished pass is not kept:
   * time alone makes an app stale.
   */
  private currentCensus(): Promise<Census> {
    const version = `${this.registryVersion} ${this.activity.historyVersion()}`;
    if (this.census?.version === version) return this.census.pass;
    const census = { version, pass: this.takeCensus() };
    this.census = census;
    const forget = () => {
      if (this.census === census) this.census = null;
    };
    census.pass.then(forget, forget);
    return census.pass;
  }

  /** A pass over every app, a page at a time, reading a few columns and two index seeks per app. */
  private async takeCensus(): Promise<Census> {
    const census: Census = {
      total: 0,
      counts: Object.fromEntries(APP_STATUSES.map((status) => [status, 0])) as Record<AppStatus, number>,
      combinations: new Map(),
      first: Object.fromEntries(APP_STATUSES.map((status) => [status, []])) as unknown as Census['first'],
    };
    for (let after: string | null = null; ; ) {
      const briefs = await this.apps.briefs(after, CENSUS_PAGE);
      const states = await this.activity.states(briefs);
      for (const app of briefs) {
        const state = states.get(app.id)!;
        let combination = 0;
        for (const status of state.statuses) {
          census.counts[status]++;
          combination |= BIT[status];
          if (census.first[status].length < CENSUS_FIRST) census.first[status].push({ ...app, ...state });
        }
        census.combinations.set(combination, (census.combinations.get(combination) ?? 0) + 1);
      }
      census.total += briefs.length;
      if (briefs.length < CENSUS_PAGE) return census;
      after = briefs[briefs.length - 1].name;
      // better-sqlite3 answers synchronously: without a real yield, the pages would not let anybody in.
      await yieldWhenDue();
    }
  }

  /** Full rows for apps picked by overview(), in the order given. */
  async describeAll(ids: number[]): Promise<ListedApp[]> {
    const apps = await this.apps.findByIds(ids);
    const activity = await this.activity.describe(apps);
    const byId = new Map(apps.map((app) => [app.id, app]));
    return ids.filter((id) => byId.has(id)).map((id) => ({ app: byId.get(id)!, activity: activity.get(id)! }));
  }
}
