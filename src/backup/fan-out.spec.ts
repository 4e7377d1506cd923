import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FanOut } from './fan-out';

const CHUNK = Buffer.alloc(64 * 1024, 7);
const chunks = (count: number) => Readable.from(Array.from({ length: count }, () => CHUNK));

/** A reader that takes `delayMs` per chunk, remembering how many bytes it got. */
function reader(delayMs = 0): Writable & { bytes: number } {
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      sink.bytes += chunk.length;
      if (delayMs === 0) return callback();
      setTimeout(callback, delayMs);
    },
  }) as Writable & { bytes: number };
  sink.bytes = 0;
  return sink;
}

const stalled = () => new Error('stalled');
const noneLeft = () => new Error('none left');

describe('FanOut', () => {
  it('gives every branch every byte, at the pace of the slowest: the fast one never runs ahead by more than the buffers', async () => {
    const fanOut = new FanOut(2, null, stalled, noneLeft);
    const fast = reader();
    const slow = reader(2);
    let lead = 0;
    const sampler = setInterval(() => (lead = Math.max(lead, fast.bytes - slow.bytes)), 1);
    await Promise.all([pipeline(chunks(200), fanOut), pipeline(fanOut.branches[0], fast), pipeline(fanOut.branches[1], slow)]);
    clearInterval(sampler);
    expect([fast.bytes, slow.bytes]).toEqual([200 * CHUNK.length, 200 * CHUNK.length]);
    // Each branch buffers 1 MiB and the sinks 64 KiB: anything beyond a few MiB would be unbounded buffering.
    expect(lead).toBeLessThan(4 * 1024 * 1024);
  });

  it('cuts off a branch whose reader failed and goes on with the others', async () => {
    const fanOut = new FanOut(2, null, stalled, noneLeft);
    const good = reader();
    const failing = new Writable({ write: (_chunk, _encoding, callback) => callback(new Error('disk full')) });
    const results = await Promise.allSettled([
      pipeline(chunks(50), fanOut), pipeline(fanOut.branches[0], good), pipeline(fanOut.branches[1], failing),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(good.bytes).toBe(50 * CHUNK.length);
  });

  it('cuts off a branch that keeps the others waiting longer than stallMs, with its own reason', async () => {
    const fanOut = new FanOut(2, 100, stalled, noneLeft);
    const good = reader();
    const stuck = new Writable({ highWaterMark: 1, write: () => undefined }); // never calls back
    const results = await Promise.allSettled([
      pipeline(chunks(100), fanOut), pipeline(fanOut.branches[0], good), pipeline(fanOut.branches[1], stuck),
    ]);
    expect(results[0].status).toBe('fulfilled');
    expect(results[1].status).toBe('fulfilled');
    expect((results[2] as PromiseRejectedResult).reason.message).toBe('stalled');
    expect(good.bytes).toBe(100 * CHUNK.length);
  });

  it('fails the source once no branch is left, and passes a source error to every branch', async () => {
    const fanOut = new FanOut(1, null, stalled, noneLeft);
    const failing = new Writable({ write: (_chunk, _encoding, callback) => callback(new Error('gone')) });
    const [source] = await Promise.allSettled([pipeline(chunks(100), fanOut), pipeline(fanOut.branches[0], failing)]);
    expect((source as PromiseRejectedResult).reason.message).toBe('none left');

    const broken = new FanOut(2, null, stalled, noneLeft);
    const bad = new Readable({ read() {} });
    const ends = Promise.allSettled([pipeline(broken.branches[0], reader()), pipeline(broken.branches[1], reader())]);
    const fed = pipeline(bad, broken).catch(() => undefined);
    bad.push(CHUNK);
    await sleep(10);
    bad.destroy(new Error('short export'));
    await fed;
    expect((await ends).map((end) => (end as PromiseRejectedResult).reason?.message)).toEqual(['short export', 'short export']);
  });
});
