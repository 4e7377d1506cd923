import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { ByteMeter, MeterLimits } from './byte-meter';

const data = Buffer.alloc(10_000, 7);
const sha = createHash('sha256').update(data).digest('hex');

/** Runs `data` through a meter; reports what reached the sink and whether the sink saw the end. */
async function meter(limits: Partial<MeterLimits>) {
  const received: Buffer[] = [];
  let ended = false;
  const sink = new Writable({
    write: (chunk, _e, callback) => (received.push(chunk), callback()),
    final: (callback) => ((ended = true), callback()),
  });
  const progress: number[] = [];
  const meter = new ByteMeter({ maxBytes: null, ...limits }, (bytes) => progress.push(bytes));
  const source = Readable.from([data.subarray(0, 4000), data.subarray(4000)]);
  const error = await pipeline(source, meter, sink).then(() => undefined, (e: Error) => e);
  return { meter, error, ended, bytes: Buffer.concat(received).length, progress };
}

describe('ByteMeter', () => {
  it('holds the last chunk back until the checks pass', async () => {
    const seen: number[] = [];
    const meter = new ByteMeter({ maxBytes: null, expectedBytes: 3 }, () => undefined);
    meter.on('data', (chunk: Buffer) => seen.push(chunk.length));
    meter.write(Buffer.from('a'));
    meter.write(Buffer.from('b'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([1]); // "b" waits for the end
  });

  it('counts, hashes and passes every byte on, reporting progress per chunk', async () => {
    const result = await meter({ expectedBytes: 10_000, expectedSha256: sha.toUpperCase() });
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ ended: true, bytes: 10_000, progress: [4000, 10_000] });
    expect(result.meter.sha256).toBe(sha);
  });

  it('refuses an empty stream when told to, and never passes its end on', async () => {
    let ended = false;
    const sink = new Writable({ write: (_c, _e, callback) => callback(), final: (callback) => ((ended = true), callback()) });
    const meter = new ByteMeter({ maxBytes: null, refuseEmpty: true }, () => undefined);
    const error = await pipeline(Readable.from([]), meter, sink).then(() => undefined, (e: Error) => e);
    expect(error?.message).toBe('the app sent an empty backup');
    expect(ended).toBe(false);
  });

  it.each([
    ['a body shorter than Content-Length', { expectedBytes: 10_001 }, /app sent 10000 bytes but Content-Length says 10001: the body is truncated/],
    ['a body longer than Content-Length', { expectedBytes: 9_999 }, /more than the 9999 bytes of its Content-Length/],
    ['a wrong checksum', { expectedSha256: '0'.repeat(64) }, /differs from X-Backup-Sha256/],
    ['a body over MAX_BACKUP_SIZE', { maxBytes: 5000 }, /exceeds MAX_BACKUP_SIZE/],
  ])('fails on %s and never passes the end on', async (_, limits, message) => {
    const result = await meter(limits);
    expect(result.error?.message).toMatch(message);
    expect(result.ended).toBe(false);
  });
});
