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
    await Promise.all([1, 2, 3, 4].map((pass) => forEachInSlices(Array.from({ length: 40 }), () => spin(2)).then(() => done.push(pass))));
    clearInterval(probe);
    expect(done.sort()).toEqual([1, 2, 3, 4]);
    // 320 ms of work in four passes; one slice (20 ms) and an item between two timer ticks, not four slices (80 ms).
    expect(worstGap).toBeLessThan(60);
  });

  it('stops when told', async () => {
    const seen: number[] = [];
    await forEachInSlices([1, 2, 3], (n) => seen.push(n), () => seen.length === 2);
    expect(seen).toEqual([1, 2]);
  });
});
