import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit } from './concurrency-limit';

describe('ConcurrencyLimit', () => {
  it('lets a waiter leave the queue when its signal aborts, keeping the order and the count of the others', async () => {
    const limit = new ConcurrencyLimit(1);
    const holder = await limit.acquire();
    const leaving = new AbortController();
    const order: string[] = [];
    const left = limit.acquire(leaving.signal).then(() => order.push('left'), (reason: Error) => order.push(`refused: ${reason.message}`));
    const next = limit.acquire().then((release) => (order.push('next'), release));
    leaving.abort(new Error('cancelled'));
    await left;
    expect(order).toEqual(['refused: cancelled']);

    holder();
    const release = await next;
    expect(order).toEqual(['refused: cancelled', 'next']);
    // One place, held by `next`: a third waits until it is released, then gets it.
    let third = false;
    const waiting = limit.acquire().then(() => (third = true));
    await Promise.resolve();
    expect(third).toBe(false);
    release();
    await waiting;
    expect(third).toBe(true);
  });

  it('refuses at once when the signal is already aborted, and takes no place', async () => {
    const limit = new ConcurrencyLimit(1);
    const stopped = new AbortController();
    stopped.abort(new Error('cancelled'));
    await expect(limit.acquire(stopped.signal)).rejects.toThrow('cancelled');
    const release = await limit.acquire();
    release();
  });

  it('keeps a place handed over before the abort: the holder must release it', async () => {
    const limit = new ConcurrencyLimit(1);
    const holder = await limit.acquire();
    const late = new AbortController();
    const waiter = limit.acquire(late.signal);
    holder(); // hands the place over
    late.abort(new Error('too late'));
    const release = await waiter;
    let other = false;
    const pending = limit.acquire().then(() => (other = true));
    await Promise.resolve();
    expect(other).toBe(false);
    release();
    await pending;
    expect(other).toBe(true);
  });
});
