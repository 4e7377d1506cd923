import { describe, expect, it } from 'vitest';
import { Firing, firingId, firingTime, InProcessFiringQueue } from './firing-queue';

describe('firingTime', () => {
  const at = (iso: string) => Date.parse(iso);

  it('names the scheduled time a tick stands for, however late the tick (within 5 s), so every replica names it alike', () => {
    expect(firingTime('*/2 * * * * *', 'UTC', at('2026-01-01T00:00:10.003Z')).toISOString()).toBe('2026-01-01T00:00:10.000Z');
    expect(firingTime('*/2 * * * * *', 'UTC', at('2026-01-01T00:00:11.700Z')).toISOString()).toBe('2026-01-01T00:00:10.000Z');
    expect(firingTime('0 3 * * *', 'Europe/Madrid', at('2026-06-01T01:00:04.000Z')).toISOString()).toBe('2026-06-01T01:00:00.000Z');
    // A timer that wakes a little early still names its own firing.
    expect(firingTime('*/2 * * * * *', 'UTC', at('2026-01-01T00:00:09.900Z')).toISOString()).toBe('2026-01-01T00:00:10.000Z');
  });

  it('rounds a tick more than 5 s late to its second', () => {
    expect(firingTime('0 3 * * *', 'UTC', at('2026-01-01T03:00:09.400Z')).toISOString()).toBe('2026-01-01T03:00:09.000Z');
  });
});

describe('firingId', () => {
  const firing: Firing = { appId: 7, kind: 'backup', due: '2026-01-01T00:00:10.000Z', zone: 'default' };

  it('is one UUID per app, kind and scheduled time: the same on every replica, another for any other firing', () => {
    expect(firingId(firing)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(firingId({ ...firing })).toBe(firingId(firing));
    const others = [{ ...firing, appId: 8 }, { ...firing, kind: 'verify' as const }, { ...firing, due: '2026-01-01T00:00:12.000Z' }];
    expect(new Set([firing, ...others].map(firingId)).size).toBe(4);
  });
});

describe('InProcessFiringQueue', () => {
  it('hands a firing to the handler of its kind and returns once the run is queued, not when it ends', async () => {
    const queue = new InProcessFiringQueue();
    const seen: string[] = [];
    let ended = false;
    queue.handle('backup', async (firing) => {
      seen.push(`backup ${firing.appId}`);
      return { runId: 1, ended: () => new Promise<void>((resolve) => setTimeout(() => resolve(void (ended = true)), 50)) };
    });
    queue.handle('verify', async (firing) => {
      seen.push(`verify ${firing.appId}`);
      return { runId: null, ended: async () => undefined };
    });
    await queue.submit({ appId: 1, kind: 'backup', due: 'x', zone: 'default' });
    await queue.submit({ appId: 2, kind: 'verify', due: 'x', zone: 'default' });
    expect(seen).toEqual(['backup 1', 'verify 2']);
    expect(ended).toBe(false);
  });
});
