import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ExportTransfer } from '../src/backup/export-transfer';
import { startContractApp } from './support/contract-app.mjs';
import { expectFailed, filesIn, registerApp, runBackup } from './support/backups';
import { bootOrchestrator, Orchestrator } from './support/orchestrator';
import { processState } from './support/processes';

describe('the byte path on a worker thread, in a run', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;

  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
    contract = await startContractApp({ token: 'test-token' });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
  });

  it('fails the run with a clear message when the worker dies mid-upload, kills rclone and removes the temporary file', async () => {
    // The worker is made to crash once half a megabyte went through, as a bug would; everything else is real.
    const upload = ExportTransfer.prototype.upload;
    let rclonePid: number | undefined;
    const crash = vi.spyOn(ExportTransfer.prototype, 'upload').mockImplementation(function (this: ExportTransfer, target, onProgress) {
      return upload.call(this, target, (bytes) => {
        onProgress(bytes);
        if (bytes > 512 * 1024 && rclonePid === undefined) {
          rclonePid = [...this['rclonePids']][0];
          this['worker'].postMessage(null); // a message it cannot read: an uncaught TypeError
        }
      });
    });
    try {
      contract.setMode({ size: 8 * 1024 * 1024, length: true, checksum: true, delayMs: 20 });
      const app = await registerApp(orchestrator, { name: 'crash', url: contract.url, driveFolderId: 'crash', retention: 1 });
      const run = await runBackup(orchestrator, app.id);

      expectFailed(run, 'upload', /^upload: the thread streaming the backup stopped unexpectedly after \d+ bytes \(Cannot read properties of null \(reading 'type'\)\); rclone was stopped$/);
      expect(rclonePid).toBeDefined();
      expect(processState(rclonePid!)).toBe('SIGKILL');
      expect(filesIn(join(orchestrator.config.rclone.remote, 'crash'))).toEqual([]);
    } finally {
      crash.mockRestore();
    }

    // The next run gets a fresh worker and succeeds.
    contract.setMode({ size: 1024 * 1024, length: true, checksum: true, delayMs: 0 });
    const app = await registerApp(orchestrator, { name: 'after', url: contract.url, driveFolderId: 'after', retention: 1 });
    expect((await runBackup(orchestrator, app.id)).status).toBe('succeeded');
  });
});
