import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit } from './concurrency-limit';

describe('ConcurrencyLimit', () => {
  it('lets a waiter leave the queue when its signal aborts, without taking or losing a place', async () => {
    const limit = new ConcurrencyLimit(1);
    const first = await limit.acquire();
    const leaving = new AbortController();
    const order: string[] = [];
    const left = limit.acquire(leaving.signal).then(() => order.push('left got a place'), (reason: Error) => order.push(`left: ${reason.message}`));
    const next = limit.acquire().then((release) => (order.push('next'), release));
    leaving.abort(new Error('gave way'));
    await left;
    first();
    (await next)();
    expect(order).toEqual(['left: gave way', 'next']);
    // The place went back: two more can take it in turn.
    (await limit.acquire())();
    await expect(limit.acquire(AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
    (await limit.acquire())();
  });
});
