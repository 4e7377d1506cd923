import { getRepositoryToken } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunEntity } from '../src/backup/run.entity';
import { registerApp } from './support/backups';
import { bootOrchestrator, Orchestrator } from './support/orchestrator';

type Row = Pick<RunEntity, 'kind' | 'status' | 'trigger'> & { app: 'alpha' | 'beta' };

/** Oldest first: ids grow down the list. */
const HISTORY: Row[] = [
  { app: 'alpha', kind: 'backup', status: 'succeeded', trigger: 'schedule' },
  { app: 'beta', kind: 'backup', status: 'failed', trigger: 'schedule' },
  { app: 'alpha', kind: 'verify', status: 'succeeded', trigger: 'manual' },
  { app: 'alpha', kind: 'restore', status: 'failed', trigger: 'manual' },
  { app: 'beta', kind: 'backup', status: 'succeeded', trigger: 'manual' },
  { app: 'alpha', kind: 'backup', status: 'failed', trigger: 'schedule' },
  { app: 'beta', kind: 'verify', status: 'failed', trigger: 'manual' },
];

describe('GET /api/runs', () => {
  let orchestrator: Orchestrator;
  let ids: number[];
  let apps: Record<string, number>;

  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
    apps = {};
    for (const name of ['alpha', 'beta']) apps[name] = (await registerApp(orchestrator, { name, driveFolderId: name })).id;
    const runs = orchestrator.app.get<Repository<RunEntity>>(getRepositoryToken(RunEntity));
    ids = [];
    for (const row of HISTORY) {
      const now = new Date();
      const run = await runs.save(runs.create({
        appId: apps[row.app], appName: row.app, kind: row.kind, status: row.status, trigger: row.trigger, queuedAt: now, startedAt: now, finishedAt: now,
      }));
      ids.push(run.id);
    }
  });
  afterAll(() => orchestrator?.close());

  /** The ids of HISTORY rows that match, newest first. */
  const expected = (match: (row: Row) => boolean) => HISTORY.flatMap((row, i) => (match(row) ? [ids[i]] : [])).reverse();
  const idsOf = (body: { id: number }[]) => body.map((run) => run.id);

  it('lists the runs of every app, newest first, as a plain array of runs', async () => {
    const { body, headers } = await orchestrator.api.get('/api/runs').expect(200);
    expect(idsOf(body)).toEqual(expected(() => true));
    expect(body[0]).toMatchObject({ appName: 'beta', kind: 'verify', status: 'failed', trigger: 'manual', log: [] });
    expect(headers.link).toBeUndefined();
  });

  it.each([
    ['status=failed', (row: Row) => row.status === 'failed'],
    ['kind=backup', (row: Row) => row.kind === 'backup'],
    ['trigger=manual', (row: Row) => row.trigger === 'manual'],
    ['status=failed&kind=backup&trigger=schedule', (row: Row) => row.status === 'failed' && row.kind === 'backup' && row.trigger === 'schedule'],
  ])('filters by %s', async (query, match) => {
    expect(idsOf((await orchestrator.api.get(`/api/runs?${query}`).expect(200)).body)).toEqual(expected(match));
  });

  it('filters by app', async () => {
    expect(idsOf((await orchestrator.api.get(`/api/runs?appId=${apps.alpha}`).expect(200)).body)).toEqual(expected((row) => row.app === 'alpha'));
  });

  it('pages with limit, continuing below the last id through the Link header, filters kept', async () => {
    const seen: number[] = [];
    let path: string | null = '/api/runs?status=failed&limit=2';
    const links: string[] = [];
    while (path) {
      const response = await orchestrator.api.get(path).expect(200);
      expect(response.body.length).toBeLessThanOrEqual(2);
      seen.push(...idsOf(response.body));
      path = response.headers.link ? /^<([^>]+)>; rel="next"$/.exec(response.headers.link)![1] : null;
      if (path) links.push(path);
    }
    expect(seen).toEqual(expected((row) => row.status === 'failed'));
    const failed = expected((row) => row.status === 'failed');
    // Four failures: two full pages, and no link after the second (nothing older).
    expect(links).toEqual([`/api/runs?status=failed&limit=2&before=${failed[1]}`]);
  });

  it('continues below any id given as before', async () => {
    const { body } = await orchestrator.api.get(`/api/runs?before=${ids[3]}&limit=500`).expect(200);
    expect(idsOf(body)).toEqual(ids.slice(0, 3).reverse());
  });

  it.each([
    ['status', 'status=done'],
    ['kind', 'kind=snapshot'],
    ['trigger', 'trigger=cron'],
    ['appId', 'appId=0'],
    ['appId', 'appId=x'],
    ['limit', 'limit=0'],
    ['limit', 'limit=501'],
    ['before', 'before=abc'],
    ['before', 'before=-3'],
  ])('refuses a bad %s (%s) with 400 naming it', async (field, query) => {
    const response = await orchestrator.api.get(`/api/runs?${query}`).expect(400);
    expect(response.body.details).toContainEqual({ field, reasons: [expect.any(String)] });
  });

  it('is documented in OpenAPI with its filters and Link header', async () => {
    const { body } = await orchestrator.api.get('/api/docs-json').expect(200);
    const list = body.paths['/api/runs'].get;
    expect(list.parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual(['appId', 'before', 'kind', 'limit', 'status', 'trigger']);
    expect(list.responses['200'].headers.Link).toBeDefined();
  });
});
