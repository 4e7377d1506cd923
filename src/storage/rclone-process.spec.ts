import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { rcat } from './rclone-process';
import { RcloneError } from './rclone.adapter';

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

describe('rcat when rclone stops reading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rclone-process-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reports rclone's own exit, not the broken pipe, when rclone closes its stdin before it exits", async () => {
    // Stands in for rclone on a full disk: it takes some bytes, closes its stdin, takes its time to clean up and
    // exits with its reason. The real one is in test/hardening-engine (a 1 MiB tmpfs), where the race is rarer.
    const bin = join(dir, 'disk-full-rclone');
    writeFileSync(bin, '#!/bin/sh\nhead -c 1000 >/dev/null\nexec 0<&-\nsleep 0.5\necho "ERROR : write: no space left on device" >&2\nexit 5\n', { mode: 0o755 });
    const source = Readable.from((function* () {
      for (let i = 0; i < 64; i++) yield Buffer.alloc(1024 * 1024);
    })());
    const stored = rcat({ rclone: { bin }, tmpDir: join(dir, 'tmp') }, join(dir, 'never.db'), source, { size: 64 * 1024 * 1024 });
    await expect(stored).rejects.toBeInstanceOf(RcloneError);
    await expect(stored).rejects.toMatchObject({ exitCode: 5, message: expect.stringMatching(/no space left on device/) });
  });
});
