import { describe, expect, it } from 'vitest';
import { AppActivity, AppBrief, AppState, AppStatus } from './app-activity';
import { AppListing } from './app-listing.service';
import type { AppChange, AppsService } from './apps.service';

/** 600 apps (three pages of a count): every third failed, every fifth stale. */
function registry() {
  const at = new Date('2026-01-01T00:00:00Z');
  const briefs: AppBrief[] = Array.from({ length: 600 }, (_, i) => ({ id: i + 1, name: `app-${String(i + 1).padStart(3, '0')}`, enabled: true, createdAt: at }));
  const pagesRead: (string | null)[] = [];
  const listeners: ((change: AppChange) => void)[] = [];
  const apps = {
    onChange: (listener: (change: AppChange) => void) => listeners.push(listener),
    briefs: async (after: string | null, take: number) => {
      pagesRead.push(after);
      return briefs.filter((app) => after === null || app.name > after).slice(0, take);
    },
  } as unknown as AppsService;
  let version = 0;
  const activity = new (class extends AppActivity {
    describe = async () => new Map();
    historyVersion = () => version;
    async states(apps: AppBrief[]) {
      return new Map<number, AppState>(apps.map((app) => {
        const statuses: AppStatus[] = app.id % 3 === 0 ? ['failed'] : app.id % 5 === 0 ? ['stale'] : ['ok'];
        if (app.id % 15 === 0) statuses.push('stale');
        return [app.id, { statuses, lastSuccessAt: null }];
      }));
    }
  })();
  return { listing: new AppListing(apps, activity), pagesRead, runEnded: () => version++, changed: () => listeners.forEach((l) => l({} as AppChange)) };
}

describe('AppListing.overview', () => {
  it('counts every app by status, with the first of each in name order and the flagged total of the statuses asked', async () => {
    const { listing } = registry();
    const overview = await listing.overview(['failed', 'stale'], 3);
    expect(overview.total).toBe(600);
    expect(overview.counts).toMatchObject({ failed: 200, stale: 80 + 40, ok: 600 - 200 - 80 });
    expect(overview.flaggedTotal).toBe(200 + 80); // the 40 apps failed and stale count once
    expect(overview.first.failed!.map((app) => app.name)).toEqual(['app-003', 'app-006', 'app-009']);
    expect(overview.first.stale!.map((app) => app.name)).toEqual(['app-005', 'app-010', 'app-015']);
    expect(Object.keys(overview.first)).toEqual(['failed', 'stale']);
  });

  it('shares one pass between callers at the same time, but not across a run or a registry change', async () => {
    const { listing, pagesRead, runEnded, changed } = registry();
    await Promise.all([listing.overview(['stale'], 50), listing.overview(['failed'], 20), listing.overview(['stale'], 50)]);
    expect(pagesRead.filter((after) => after === null)).toHaveLength(1);

    const before = listing.overview(['stale'], 50);
    runEnded();
    const after = listing.overview(['stale'], 50);
    await Promise.all([before, after]);
    expect(pagesRead.filter((after) => after === null)).toHaveLength(3);

    const beforeChange = listing.overview(['stale'], 50);
    changed();
    await Promise.all([beforeChange, listing.overview(['stale'], 50)]);
    expect(pagesRead.filter((after) => after === null)).toHaveLength(5);

    await listing.overview(['stale'], 50); // a finished pass is not kept
    expect(pagesRead.filter((after) => after === null)).toHaveLength(6);
  });
});
