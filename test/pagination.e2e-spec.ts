import { BackupScheduler } from '../src/backup/backup-scheduler.service';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppConfig } from '../src/config/app-config';
import { registerApp } from './support/backups';
import { withDatabaseOf } from './support/database';
import { bootOrchestrator, Orchestrator } from './support/orchestrator';

type Listed = { id: number; name: string };

/** The target of the Link header's rel="next" (or "prev"), or null. */
function linkOf(header: string | undefined, rel: 'next' | 'prev'): string | null {
  const match = new RegExp(`<([^>]+)>; rel="${rel}"`).exec(header ?? '');
  return match ? match[1] : null;
}

/** Follows rel="next" from `path` to the end, returning every page's names. */
async function allPages(orchestrator: Orchestrator, path: string): Promise<string[][]> {
  const pages: string[][] = [];
  for (let next: string | null = path; next; ) {
    const response = await orchestrator.api.get(next).expect(200);
    pages.push(response.body.map((app: Listed) => app.name));
    next = linkOf(response.headers.link, 'next');
  }
  return pages;
}

const expectInvalid = async (orchestrator: Orchestrator, path: string, field: string) => {
  const { body } = await orchestrator.api.get(path).expect(400);
  expect(body.details).toEqual([{ field, reasons: [expect.any(String)] }]);
};

describe('GET /api/apps pages', () => {
  let orchestrator: Orchestrator;
  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
    for (const name of ['b', 'd', 'f', 'h', 'j']) await registerApp(orchestrator, { name, driveFolderId: name, url: `http://Host-${name}.example:8000` });
  });
  afterAll(() => orchestrator.close());

  it('keeps the plain array, announces the next page in a Link header, and none after the last', async () => {
    const first = await orchestrator.api.get('/api/apps?limit=2').expect(200);
    expect(first.body.map((app: Listed) => app.name)).toEqual(['b', 'd']);
    const next = linkOf(first.headers.link, 'next')!;
    expect(next).toMatch(/^\/api\/apps\?limit=2&cursor=[A-Za-z0-9_-]+$/);
    expect(linkOf(first.headers.link, 'prev')).toBeNull();
    expect(await allPages(orchestrator, '/api/apps?limit=2')).toEqual([['b', 'd'], ['f', 'h'], ['j']]);
    const last = await orchestrator.api.get('/api/apps?limit=5').expect(200);
    expect(last.body).toHaveLength(5);
    expect(last.headers.link).toBeUndefined();
    // Without parameters: the first 100, as before pagination.
    expect((await orchestrator.api.get('/api/apps').expect(200)).body).toHaveLength(5);
  });

  it('is stable under inserts: no item twice, no existing item skipped', async () => {
    const first = await orchestrator.api.get('/api/apps?limit=2').expect(200);
    for (const name of ['a', 'c', 'e', 'k']) await registerApp(orchestrator, { name, driveFolderId: name });
    const rest = await allPages(orchestrator, linkOf(first.headers.link, 'next')!);
    const seen = [...first.body.map((app: Listed) => app.name), ...rest.flat()];
    expect(seen).toEqual(['b', 'd', 'e', 'f', 'h', 'j', 'k']); // every app after the cursor, once; those before it are not revisited
    for (const name of ['a', 'c', 'e', 'k']) {
      const { body } = await orchestrator.api.get(`/api/apps?q=${name}&limit=1000`).expect(200);
      await orchestrator.api.delete(`/api/apps/${body.find((app: Listed) => app.name === name).id}`).expect(204);
    }
  });

  it('searches name and URL ignoring case, treats % and _ literally, and keeps the search in the links', async () => {
    expect((await orchestrator.api.get('/api/apps?q=HOST-F').expect(200)).body.map((app: Listed) => app.name)).toEqual(['f']);
    expect((await orchestrator.api.get('/api/apps?q=%25').expect(200)).body).toEqual([]);
    expect((await orchestrator.api.get('/api/apps?q=_').expect(200)).body).toEqual([]);
    const page = await orchestrator.api.get('/api/apps?q=example&limit=2').expect(200);
    expect(linkOf(page.headers.link, 'next')).toMatch(/^\/api\/apps\?q=example&limit=2&cursor=/);
    expect(await allPages(orchestrator, '/api/apps?q=example&limit=2')).toEqual([['b', 'd'], ['f', 'h'], ['j']]);
  });

  it('refuses a bad limit, cursor or status with 400 naming the field', async () => {
    for (const limit of ['0', '1001', 'x']) await expectInvalid(orchestrator, `/api/apps?limit=${limit}`, 'limit');
    for (const cursor of ['not-a-cursor', 'YmlsbGluZw', '%25%25']) await expectInvalid(orchestrator, `/api/apps?cursor=${cursor}`, 'cursor');
    await expectInvalid(orchestrator, '/api/apps?status=broken', 'status');
  });

  it('documents the parameters and the Link header in OpenAPI', async () => {
    const { body } = await orchestrator.api.get('/api/docs-json').expect(200);
    for (const path of ['/api/apps', '/api/apps/{id}/runs']) {
      expect(body.paths[path].get.responses['200'].headers.Link.description).toContain('rel="next"');
      expect(body.paths[path].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['limit', 'cursor']));
    }
    const status = body.paths['/api/apps'].get.parameters.find((p: { name: string }) => p.name === 'status');
    expect(status.schema.enum).toEqual(['ok', 'failed', 'partial', 'stale', 'running', 'schedule-error', 'disabled', 'never-run']);
  });
});

/**
 * A registry of 1 200 apps written straight into the file, as years of use would leave it: every app
 * overdue (created long ago, never a success) except the disabled ones and one that just succeeded.
 */
const APPS = 1200;
const DISABLED = ['app-0001', 'app-0600', 'app-1100'];
const name = (n: number) => `app-${String(n).padStart(4, '0')}`;

async function seedRegistry(config: AppConfig): Promise<void> {
  await withDatabaseOf(config, async (db) => {
    const old = db.ago(800 * 24 * 3600_000);
    // 200 apps a statement: few round trips, within either database's parameter limit.
    for (let from = 1; from <= APPS; from += 200) {
      const numbers = Array.from({ length: Math.min(200, APPS - from + 1) }, (_, n) => from + n);
      await db.query(
        `INSERT INTO apps (name, url, "tokenEncrypted", schedule, "driveFolderId", retention, enabled, "createdAt", "updatedAt") VALUES ${numbers.map(() => "(?, ?, 'x', '0 3 * * *', ?, 2, ?, ?, ?)").join(', ')}`,
        numbers.flatMap((n) => [name(n), `http://${name(n)}.internal:8000`, name(n), !DISABLED.includes(name(n)), old, old]),
      );
    }
    const insertRun = async (app: string, status: string, msAgo: number, bytes: number) =>
      db.query(
        `INSERT INTO runs ("appId", "appName", kind, "trigger", status, "queuedAt", "startedAt", "finishedAt", bytes, log)
        VALUES ((SELECT id FROM apps WHERE name = ?), ?, 'backup', 'schedule', ?, ?, ?, ?, ?, '')`,
        [app, app, status, db.ago(msAgo), db.ago(msAgo), db.ago(msAgo), bytes],
      );
    await insertRun('app-0002', 'failed', 3600_000, 0);
    // 30 runs of app-0003, the newest a success: fresh, and a history to page through. Kept bytes: its 2 newest successes.
    for (let n = 30; n >= 1; n--) await insertRun('app-0003', 'succeeded', n * 60_000, n);
  });
}

describe('pages over a large registry', () => {
  let orchestrator: Orchestrator;
  beforeAll(async () => {
    const first = await bootOrchestrator();
    await first.close();
    await seedRegistry(first.config);
    orchestrator = await bootOrchestrator({ DATA_DIR: first.dataDir });
    // 1 200 jobs are registered, and their periods (which make an app stale) measured, after the boot.
    await orchestrator.app.get(BackupScheduler).registered();
  });
  afterAll(() => orchestrator?.close());

  it('filters by status across the whole registry, page by page', async () => {
    expect(await allPages(orchestrator, '/api/apps?status=disabled&limit=2')).toEqual([['app-0001', 'app-0600'], ['app-1100']]);
    expect(await allPages(orchestrator, '/api/apps?status=failed')).toEqual([['app-0002']]);
    expect(await allPages(orchestrator, '/api/apps?status=ok&limit=1')).toEqual([['app-0003']]);
    expect((await allPages(orchestrator, '/api/apps?status=never-run&limit=1000')).map((page) => page.length)).toEqual([1000, APPS - 2 - 1000]);
    const stale = await orchestrator.api.get('/api/apps?status=stale&q=app-11&limit=100').expect(200);
    expect(stale.body.map((app: Listed) => app.name)).toEqual(Array.from({ length: 99 }, (_, i) => name(1101 + i))); // app-1100 is disabled
    expect(stale.headers.link).toBeUndefined();
    expect(stale.body.every((app: { stale: boolean }) => app.stale)).toBe(true);
  });

  it('lists at most 50 stale apps in health and counts the rest', async () => {
    const { body } = await orchestrator.api.get('/api/health').expect(200);
    const stale = APPS - DISABLED.length - 1;
    expect(body.status).toBe('degraded');
    expect(body.checks.backups).toMatchObject({ status: 'ok', total: APPS, stale, more: stale - 50 });
    expect(body.checks.backups.apps).toHaveLength(50);
    expect(body.checks.backups.apps[0]).toEqual({ id: expect.any(Number), name: 'app-0002', lastSuccessAt: null, stale: true });
  });

  it('renders one page of the dashboard, problems first, with search, status filter and page links', async () => {
    const browser = (await orchestrator.pages()).set('Accept', 'text/html');
    const rows = (html: string, section: string) => {
      const part = html.split(section)[1]?.split('</table>')[0] ?? '';
      return [...part.matchAll(/<tr data-app="([^"]+)"/g)].map((m) => m[1]);
    };
    const page = await browser.get('/').expect(200);
    expect(page.text).toContain(`data-summary="apps">${APPS}<`);
    expect(page.text).toContain('data-summary="stored">3 B<'); // app-0003 keeps 2: its newest successes, of 1 and 2 bytes
    expect(rows(page.text, 'data-attention')).toEqual(['app-0002', ...Array.from({ length: 19 }, (_, i) => name(i + 4))]);
    expect(page.text).toContain(`${APPS - DISABLED.length - 1 - 20} more need attention`);
    expect(rows(page.text, 'data-app-list')).toEqual(Array.from({ length: 50 }, (_, i) => name(i + 1)));
    expect(page.text).toMatch(/and \d+ more\./);
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)|\son[a-z]+=|\sstyle=/);
    expect(page.text.length).toBeLessThan(200_000);

    const href = (html: string, rel: string) => new RegExp(`href="([^"]+)" rel="${rel}"`).exec(html)![1].replaceAll('&amp;', '&').replaceAll('&#x3D;', '=');
    const next = href(page.text, 'next');
    const second = await browser.get(next).expect(200);
    expect(rows(second.text, 'data-app-list')).toEqual(Array.from({ length: 50 }, (_, i) => name(i + 51)));
    expect(second.text).not.toContain('data-attention');
    const prev = href(second.text, 'prev');
    expect(rows((await browser.get(prev).expect(200)).text, 'data-app-list')).toEqual(Array.from({ length: 50 }, (_, i) => name(i + 1)));

    const filtered = await browser.get('/?q=app-00&status=disabled').expect(200);
    expect(rows(filtered.text, 'data-app-list')).toEqual(['app-0001']);
    expect(filtered.text).toContain('<option value="disabled" selected>');
    expect(filtered.text).toContain('value="app-00"');
    expect((await browser.get('/?q=nothing-like-this').expect(200)).text).toContain('data-no-match');
    await browser.get('/?status=bogus').expect(400);
    await browser.get('/?cursor=forged').expect(400);
  });

  it("pages an app's runs newest first, stable when new runs arrive, keeping the default of 20", async () => {
    const [app] = (await orchestrator.api.get('/api/apps?q=app-0003').expect(200)).body;
    expect((await orchestrator.api.get(`/api/apps/${app.id}/runs`).expect(200)).body).toHaveLength(20);
    const first = await orchestrator.api.get(`/api/apps/${app.id}/runs?limit=12`).expect(200);
    await orchestrator.api.post(`/api/apps/${app.id}/run`).expect(202); // a newer run, before page 2 is read
    const ids: number[] = first.body.map((run: { id: number }) => run.id);
    for (let next = linkOf(first.headers.link, 'next'); next; ) {
      const page = await orchestrator.api.get(next).expect(200);
      ids.push(...page.body.map((run: { id: number }) => run.id));
      next = linkOf(page.headers.link, 'next');
    }
    expect(ids).toHaveLength(30);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    await expectInvalid(orchestrator, `/api/apps/${app.id}/runs?cursor=${linkOf(first.headers.link, 'next')!.split('cursor=')[1]}x`, 'cursor');
    const appCursor = linkOf((await orchestrator.api.get('/api/apps?limit=1').expect(200)).headers.link, 'next')!.split('cursor=')[1];
    await expectInvalid(orchestrator, `/api/apps/${app.id}/runs?cursor=${appCursor}`, 'cursor');
  });
});
