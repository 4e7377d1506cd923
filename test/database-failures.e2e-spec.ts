import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesIn, registerApp, RunBody, waitForRunEnd } from './support/backups';
import { startContractApp, sha256Of } from './support/contract-app.mjs';
import { bootOrchestrator, waitFor } from './support/orchestrator';

describe('health when the database file is gone', () => {
  it('answers 503 once the SQLite file was deleted under the running service', async () => {
    const orchestrator = await bootOrchestrator();
    try {
      expect((await orchestrator.api.get('/api/health').expect(200)).body.checks.database).toEqual({ status: 'ok' });
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${orchestrator.config.databasePath}${suffix}`, { force: true });
      const health = (await orchestrator.api.get('/api/health').expect(503)).body;
      expect(health.status).toBe('error');
      expect(health.checks.database.error).toContain(`the database file ${orchestrator.config.databasePath} was deleted`);
    } finally {
      await orchestrator.close();
    }
  });
});

/** A small filesystem of its own, so that "disk full" is real and harms nothing else. */
function mountSmallDisk(sizeMiB: number): string | null {
  const mountPoint = mkdtempSync(join(tmpdir(), 'orquestador-small-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', mountPoint], { stdio: 'pipe' });
    return mountPoint;
  } catch {
    return null;
  }
}

/** Writes until the filesystem refuses: what is left is too little for any database write. */
function fillDisk(folder: string): string {
  const filler = join(folder, 'filler');
  const block = Buffer.alloc(64 * 1024, 1);
  writeFileSync(filler, '');
  try {
    for (;;) writeFileSync(filler, block, { flag: 'a' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
  // The last partial block can leave a few KiB: fill them byte-sized.
  try {
    for (;;) writeFileSync(filler, Buffer.alloc(512, 1), { flag: 'a' });
  } catch {
    return filler;
  }
}

const disk = mountSmallDisk(16);

describe.skipIf(!disk)('a full disk under the database (needs root to mount a tmpfs)', () => {
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  beforeAll(async () => {
    contract = await startContractApp();
  });
  afterAll(async () => {
    await contract?.close();
    execFileSync('umount', [disk!]);
  });

  it('turns health to 503, and records the running backup with its checksum once space is back', async () => {
    const databaseDir = join(disk!, 'db');
    mkdirSync(databaseDir);
    const orchestrator = await bootOrchestrator({ DATABASE_PATH: join(databaseDir, 'orquestador.sqlite') });
    try {
      const app = await registerApp(orchestrator, { name: 'full', url: contract.url, driveFolderId: 'full' });
      contract.setMode({ size: 2 * 1024 * 1024, length: true, checksum: true, delayMs: 60 }); // ~2 s
      const runId = (await orchestrator.api.post(`/api/apps/${app.id}/run`).expect(202)).body.runId;
      await waitFor(async () => ((await orchestrator.api.get(`/api/runs/${runId}`)).body.bytes > 0 ? true : undefined));

      const filler = fillDisk(disk!);
      const health = (await orchestrator.api.get('/api/health').expect(503)).body;
      expect(health.checks.database.error).toMatch(/the database cannot be written \(.*full.*\)/);

      // The backup reaches the remote, but its outcome cannot be written: the run must wait, not vanish.
      const folder = join(orchestrator.config.rclone.remote, 'full');
      await waitFor(() => (filesIn(folder).some((name) => name.startsWith('full-')) ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await orchestrator.api.get(`/api/runs/${runId}`).expect(200)).body.status).toBe('running');

      unlinkSync(filler);
      const run: RunBody = await waitForRunEnd(orchestrator, runId);
      expect(run.status).toBe('succeeded');
      expect(run.sha256).toBe(sha256Of(2 * 1024 * 1024));
      expect(run.log.join('\n')).toContain('stored 2097152 bytes');
      expect((await orchestrator.api.get('/api/health').expect(200)).body.checks.database).toEqual({ status: 'ok' });
    } finally {
      await orchestrator.close();
    }
  });
});
