import { describe, expect, it } from 'vitest';
import { forEachInSlices } from './slices';

/** Busy work of `ms` milliseconds: what a synchronous query is to the event loop. */
const spin = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('forEachInSlices', () => {
  it('lets the event loop run between slices even with several passes side by side, each finishing', async () => {
    let worstGap = 0;
    let last = performance.now();
    const probe = setInterval(() => {
      worstGap = Math.max(worstGap, performance.now() - last);
      last = performance.now();
    }, 1);
    const done: number[] = [];
    const passes = [1, 2, 3, 4, 5, 6, 7, 8];
    await Promise.all(passes.map((pass) => forEachInSlices(Array.from({ length: 20 }), () => spin(2)).then(() => done.push(pass))));
    clearInterval(probe);
    expect(done.sort()).toEqual(passes);
    // 320 ms of work in eight passes: one slice (10 ms) and an item between two timer ticks, not eight slices (80 ms).
    expect(worstGap).toBeLessThan(50);
  });

  it('stops when told', async () => {
    const seen: number[] = [];
    await forEachInSlices([1, 2, 3], (n) => seen.push(n), () => seen.length === 2);
    expect(seen).toEqual([1, 2]);
  });
});
