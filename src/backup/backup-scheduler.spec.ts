import type { AuditService } from '../audit/audit.service';
import { SchedulerRegistry } from '@nestjs/schedule';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppEntity } from '../apps/app.entity';
import type { AppChange, AppsService } from '../apps/apps.service';
import type { Cursor } from '../common/pagination';
import type { AppConfig } from '../config/app-config';
import type { BackupRunner } from './backup-runner.service';
import { BackupScheduler } from './backup-scheduler.service';
import { Firing, FiringHandler, FiringQueue, InProcessFiringQueue } from '../cluster/firing-queue';
import { AppNotFoundError } from '../common/errors';
import type { RunsService } from './runs.service';

/** The audit log is not what these tests are about. */
const noAudit = { recordScheduled: async () => undefined } as unknown as AuditService;
/** AppsService.slice over these rows: pages in name order after the cursor's name. */
const pagesOf = (rows: AppEntity[]) => async ({ cursor, take }: { cursor: Cursor | null; take: number }) =>
  rows.filter((row) => !cursor || row.name > cursor.key).sort((a, b) => (a.name < b.name ? -1 : 1)).slice(0, take);
/** AppsService.get over these rows as they are when asked: a firing reads its app when it is taken. */
const getOf = (rows: AppEntity[]) => async (id: number) => rows.find((row) => row.id === id) ?? Promise.reject(new AppNotFoundError(id));

/** A cluster's queue seen from one replica: firings wait (for pg-boss's poll, a free slot) until delivered. */
class HeldFiringQueue extends FiringQueue {
  readonly held: Firing[] = [];
  private handler?: FiringHandler;

  handle(_kind: Firing['kind'], handler: FiringHandler): void {
    this.handler = handler;
  }

  async submit(firing: Firing): Promise<void> {
    this.held.push(firing);
  }

  async deliver(): Promise<void> {
    for (const firing of this.held.splice(0)) await (await this.handler!(firing)).ended();
  }
}

describe('BackupScheduler', () => {
  const registry = new SchedulerRegistry();
  afterEach(() => {
    for (const name of registry.getCronJobs().keys()) registry.deleteCronJob(name);
  });

  it('records a failed run when a firing cannot start, instead of failing silently', async () => {
    const app = { id: 7, name: 'orphan', schedule: '* * * * * *', timezone: null, enabled: true } as AppEntity;
    let listener: ((change: AppChange) => void) | undefined;
    const apps = { onChange: (l: (change: AppChange) => void) => (listener = l), get: getOf([app]) } as unknown as AppsService;
    const runner = { start: async () => Promise.reject(new Error('no app with id 7')) } as unknown as BackupRunner;
    const recorded: string[] = [];
    const runs = { failToStart: async (a: AppEntity, trigger: string, reason: string) => recorded.push(`${a.name} ${trigger} ${reason}`) };
    const config = { scheduler: { timezone: 'UTC', catchUpMissed: false } } as AppConfig;
    new BackupScheduler(config, registry, apps, runner, runs as unknown as RunsService, noAudit, new InProcessFiringQueue());

    listener!({ kind: 'saved', app });
    expect(registry.doesExist('cron', 'backup:7')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(recorded[0]).toBe('orphan schedule no app with id 7');

    listener!({ kind: 'removed', app });
    expect(registry.doesExist('cron', 'backup:7')).toBe(false);
  });

  it('gives apps of one schedule and zone one job that fires each of them, and keeps it firing for the others when one leaves', async () => {
    const every = (id: number, timezone: string | null) => ({ id, name: `app-${id}`, schedule: '* * * * * *', timezone, enabled: true }) as AppEntity;
    let listener: ((change: AppChange) => void) | undefined;
    const rows: AppEntity[] = [];
    const apps = { onChange: (l: (change: AppChange) => void) => (listener = l), get: getOf(rows) } as unknown as AppsService;
    const fired: number[] = [];
    const runner = { start: async (id: number) => fired.push(id) } as unknown as BackupRunner;
    const config = { scheduler: { timezone: 'UTC', catchUpMissed: false } } as AppConfig;
    new BackupScheduler(config, registry, apps, runner, {} as RunsService, noAudit, new InProcessFiringQueue());
    const change = (kind: AppChange['kind'], app: AppEntity) => {
      rows.splice(0, rows.length, ...rows.filter((row) => row.id !== app.id), ...(kind === 'saved' ? [app] : []));
      listener!({ kind, app });
    };

    for (const app of [every(1, null), every(2, null), every(3, 'Asia/Kolkata')]) change('saved', app);
    expect(registry.getCronJob('backup:1')).toBe(registry.getCronJob('backup:2'));
    expect(registry.getCronJob('backup:3')).not.toBe(registry.getCronJob('backup:1')); // same schedule, another zone
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(new Set(fired)).toEqual(new Set([1, 2, 3]));

    change('removed', every(1, null));
    change('saved', { ...every(3, 'Asia/Kolkata'), enabled: false });
    fired.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(new Set(fired)).toEqual(new Set([2]));
    expect([...registry.getCronJobs().keys()]).toEqual(['backup:2']);
  });

  it('boots with an app whose stored schedule or zone cannot be registered, reporting it, and schedules the others', async () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const rows = [
      { id: 1, name: 'leap', schedule: '0 0 30 2 *', timezone: null, enabled: true, updatedAt: at },
      { id: 2, name: 'mars', schedule: '0 3 * * *', timezone: 'Mars/Olympus', enabled: true, updatedAt: at },
      { id: 3, name: 'fine', schedule: '0 3 * * *', timezone: null, enabled: true, updatedAt: at },
    ] as AppEntity[];
    let listener: ((change: AppChange) => void) | undefined;
    const apps = { onChange: (l: (change: AppChange) => void) => (listener = l), slice: pagesOf(rows), get: getOf(rows) } as unknown as AppsService;
    const fired: number[] = [];
    const runner = { start: async (id: number) => fired.push(id) } as unknown as BackupRunner;
    const runs = { lastScheduledRunTimes: async () => new Map() } as unknown as RunsService;
    const config = { scheduler: { timezone: 'UTC', catchUpMissed: true } } as AppConfig;
    const scheduler = new BackupScheduler(config, registry, apps, runner, runs, noAudit, new InProcessFiringQueue());

    await scheduler.onApplicationBootstrap();
    await scheduler.registered();
    expect([...registry.getCronJobs().keys()]).toEqual(['backup:3']);
    expect(fired).toEqual([3]); // caught up: its 03:00 firing since 2026-01-01 was missed
    expect(scheduler.scheduleErrorOf(1)).toMatch(/^never fires/);
    expect(scheduler.scheduleErrorOf(2)).toMatch(/timezone/i);
    expect(scheduler.scheduleErrorOf(3)).toBeNull();
    expect(scheduler.brokenSchedules().map(({ id, name }) => ({ id, name }))).toEqual([{ id: 1, name: 'leap' }, { id: 2, name: 'mars' }]);
    expect(scheduler.nextRunOf(1)).toBeNull();
    expect(scheduler.periodOf(1)).toBeNull();

    listener!({ kind: 'saved', app: { ...rows[0], schedule: '0 4 * * *' } as AppEntity });
    listener!({ kind: 'removed', app: rows[1] });
    expect(scheduler.brokenSchedules()).toEqual([]);
    expect(scheduler.nextRunOf(1)).toBeInstanceOf(Date);
  });

  it('runs nothing for a firing taken from the queue after its app was rescheduled, disabled or deleted', async () => {
    const app = { id: 4, name: 'held', schedule: '* * * * * *', timezone: null, enabled: true } as AppEntity;
    let listener: ((change: AppChange) => void) | undefined;
    const rows = [app];
    const apps = { onChange: (l: (change: AppChange) => void) => (listener = l), get: getOf(rows) } as unknown as AppsService;
    const fired: number[] = [];
    const runner = { start: async (id: number) => ({ id: fired.push(id) }), settled: async () => undefined } as unknown as BackupRunner;
    const queue = new HeldFiringQueue();
    new BackupScheduler({ scheduler: { timezone: 'UTC', catchUpMissed: false } } as AppConfig, registry, apps, runner, {} as RunsService, noAudit, queue);
    const firingHeld = async () => {
      queue.held.length = 0;
      while (queue.held.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    listener!({ kind: 'saved', app });

    await firingHeld();
    await queue.deliver();
    expect(fired).toEqual([4]); // unchanged: it runs

    for (const changed of [{ ...app, schedule: '0 3 * * *' }, { ...app, timezone: 'Asia/Kolkata' }, { ...app, enabled: false }]) {
      await firingHeld();
      rows[0] = changed; // committed by another replica: this one's jobs have not heard of it yet
      await queue.deliver();
      rows[0] = app;
    }
    await firingHeld();
    rows.length = 0;
    await queue.deliver();
    expect(fired).toEqual([4]);
  });

  it('catches up a missed firing of an app in its own time zone, not in UTC', async () => {
    // Its daily firing was an hour ago in Kiribati (UTC+14), after its last change five hours ago: missed. Read as UTC,
    // the same fields would fire 13 hours from now instead, and nothing would be caught up.
    const parts = new Intl.DateTimeFormat('en-GB', { timeZone: 'Pacific/Kiritimati', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' })
      .formatToParts(new Date(Date.now() - 60 * 60 * 1000));
    const field = (type: string) => Number(parts.find((part) => part.type === type)!.value);
    const app = { id: 5, name: 'kiribati', schedule: `${field('minute')} ${field('hour')} * * *`, timezone: 'Pacific/Kiritimati', enabled: true, updatedAt: new Date(Date.now() - 5 * 60 * 60 * 1000) } as AppEntity;
    const apps = { onChange: () => undefined, slice: pagesOf([app]), get: getOf([app]) } as unknown as AppsService;
    const fired: number[] = [];
    const runner = { start: async (id: number) => fired.push(id) } as unknown as BackupRunner;
    const runs = { lastScheduledRunTimes: async () => new Map() } as unknown as RunsService;
    const config = { scheduler: { timezone: 'UTC', catchUpMissed: true } } as AppConfig;
    const scheduler = new BackupScheduler(config, registry, apps, runner, runs, noAudit, new InProcessFiringQueue());
    await scheduler.onApplicationBootstrap();
    await scheduler.registered();
    expect(fired).toEqual([5]);
  });

  it('registers a large registry in slices that let the event loop run, following changes made meanwhile', async () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const rows = Array.from({ length: 2000 }, (_, i) => ({ id: i + 1, name: `app-${i + 1}`, schedule: `${i % 60} ${i % 24} * * *`, timezone: null, enabled: true, updatedAt: at })) as AppEntity[];
    let listener: ((change: AppChange) => void) | undefined;
    const apps = { onChange: (l: (change: AppChange) => void) => (listener = l), slice: pagesOf(rows) } as unknown as AppsService;
    const config = { scheduler: { timezone: 'UTC', catchUpMissed: false } } as AppConfig;
    const scheduler = new BackupScheduler(config, registry, apps, {} as BackupRunner, {} as RunsService, noAudit, new InProcessFiringQueue());

    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    await scheduler.onApplicationBootstrap();
    expect(registry.getCronJobs().size).toBeLessThan(2000); // the boot went on before every job was registered
    // Changed and deleted while the boot's registration is under way (in the database, then announced).
    // Read with the first page (200 by name) but not registered yet: the boot's stale row must not win.
    const read = [...rows].sort((a, b) => (a.name < b.name ? -1 : 1))[199];
    expect(registry.doesExist('cron', `backup:${read.id}`)).toBe(false);
    const change = (app: AppEntity) => {
      rows[rows.findIndex((row) => row.id === app.id)] = app;
      listener!({ kind: 'saved', app });
    };
    change({ ...read, schedule: '5 5 * * *' });
    // In pages not read yet: read as they are now.
    change({ ...rows[1999], schedule: '6 6 * * *' });
    const [removed] = rows.splice(1998, 1);
    listener!({ kind: 'removed', app: removed });
    await scheduler.registered();

    expect(timerRan).toBe(true);
    expect(registry.getCronJobs().size).toBe(1999);
    expect(registry.doesExist('cron', 'backup:1999')).toBe(false);
    expect(registry.getCronJob(`backup:${read.id}`).cronTime.source).toBe('5 5 * * *');
    expect(registry.getCronJob('backup:2000').cronTime.source).toBe('6 6 * * *');
    expect(scheduler.periodOf(1)).toBe(24 * 60 * 60 * 1000);
    expect(scheduler.nextRunOf(read.id)!.toISOString()).toMatch(/T05:05:00\.000Z$/);
  });
});
