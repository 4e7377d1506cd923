import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppConfig } from '../config/app-config';
import { RcloneCliAdapter } from './rclone-cli.adapter';

describe('RcloneCliAdapter.rcat (real rclone, local folder)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orquestador-rcat-spec-'));
  const adapter = new RcloneCliAdapter({ rclone: { bin: 'rclone', remote: dir }, tmpDir: join(dir, 'tmp') } as AppConfig);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('never starts rclone on a source that failed before the upload began', async () => {
    // In a run the pipeline from the app owns the source's error; here nobody else listens.
    const source = new PassThrough().on('error', () => undefined);
    source.write('half a backup');
    source.destroy(new Error('the app went away'));
    await expect(adapter.rcat(join(dir, 'file'), source)).rejects.toThrow('the app went away');
    expect(existsSync(join(dir, 'file'))).toBe(false);
  });

  it('stores a complete stream, spooling only under the configured tmp folder', async () => {
    const source = new PassThrough();
    source.end('a whole backup');
    await adapter.rcat(join(dir, 'file'), source);
    expect(existsSync(join(dir, 'file'))).toBe(true);
    expect(existsSync(join(dir, 'tmp'))).toBe(true);
  });
});
