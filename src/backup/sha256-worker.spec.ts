import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Sha256Worker } from './sha256-worker';

// Several batches of 1 MiB plus a ragged end, in chunks that do not divide the batch size.
const data = randomBytes(3 * 1024 * 1024 + 12_345);
const chunks = Array.from({ length: Math.ceil(data.length / 70_001) }, (_, i) => data.subarray(i * 70_001, (i + 1) * 70_001));

describe('Sha256Worker', () => {
  let hasher: Sha256Worker;
  afterEach(() => hasher.destroy());

  it('gives the SHA-256 of every byte, in order, and leaves the caller its chunks', async () => {
    hasher = new Sha256Worker();
    for (const chunk of chunks) await hasher.update(chunk);
    expect(await hasher.digest()).toBe(createHash('sha256').update(data).digest('hex'));
    expect(Buffer.concat(chunks).equals(data)).toBe(true); // nothing was detached or overwritten
  });

  it('hashes an empty stream', async () => {
    hasher = new Sha256Worker();
    expect(await hasher.digest()).toBe(createHash('sha256').digest('hex'));
  });

  it('asks its caller to wait once the worker falls behind, instead of queueing without bound', async () => {
    hasher = new Sha256Worker();
    const sixteenMiB = Array.from({ length: 16 }, () => randomBytes(1024 * 1024));
    // Sent without waiting, as a caller that ignored backpressure would: the worker cannot keep up.
    const answers = sixteenMiB.map((chunk) => hasher.update(chunk));
    expect(answers.slice(0, 8)).toEqual(Array(8).fill(undefined));
    expect(answers.at(-1)).toBeInstanceOf(Promise);
    await Promise.all(answers);
    expect(await hasher.digest()).toBe(createHash('sha256').update(Buffer.concat(sixteenMiB)).digest('hex'));
  });

  it('fails the digest when the worker is gone', async () => {
    hasher = new Sha256Worker();
    await hasher.update(data);
    hasher.destroy();
    await expect(hasher.digest()).rejects.toThrow(/SHA-256 worker stopped/);
  });
});
