import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { rcat } from './rclone-process';

describe('rcat (real rclone, local folder)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rclone-process-'));
  const settings = { rclone: { bin: 'rclone' }, tmpDir: join(dir, 'tmp') };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['with a size', 1000],
    ['without a size', undefined],
  ])('kills rclone when the source broke before rclone started (%s): no file, not even an empty one', async (_, size) => {
    // The export's worker starts reading before rcat has made its spool folder: the source can be gone already.
    const source = new PassThrough().on('error', () => undefined); // its reader (the pipeline from the app) has seen it
    source.destroy(new Error('connection to the app broke'));
    const target = join(dir, `broken-${size ?? 'unknown'}.db`);
    await expect(rcat(settings, target, source, { size })).rejects.toThrow();
    expect(existsSync(target)).toBe(false);
  });
});
