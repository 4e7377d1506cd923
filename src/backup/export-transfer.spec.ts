import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sha256Of, startContractApp } from '../../test/support/contract-app.mjs';
import { BackupFailure } from './backup-failure';
import { ExportTransfer, TransferSettings, UploadOutcome } from './export-transfer';
import { processState } from '../../test/support/processes';

// The worker runs from the build (dist/backup/export-transfer.worker.js), which `npm test` makes first.
// Real parts: the contract test app, rclone into a local folder.

type Contract = Awaited<ReturnType<typeof startContractApp>>;

describe('ExportTransfer (the byte path on a worker thread)', () => {
  let contract: Contract;
  let dir: string;
  let settings: TransferSettings;
  const transfers: ExportTransfer[] = [];

  beforeAll(async () => {
    contract = await startContractApp({ token: 't' });
    dir = mkdtempSync(join(tmpdir(), 'export-transfer-'));
    settings = { endpoint: { url: contract.url, token: 't' }, rclone: { bin: 'rclone' }, tmpDir: join(dir, 'tmp'), maxBytes: null, stallMs: 2000 };
  });
  afterEach(() => transfers.splice(0).forEach((transfer) => transfer.close()));
  afterAll(async () => {
    await contract.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function started(): Promise<ExportTransfer> {
    const transfer = await ExportTransfer.start();
    transfers.push(transfer);
    return transfer;
  }

  /** A slow export under way: resolves once more than 512 KiB went through the meter. */
  async function midUpload(target: string, signal = new AbortController().signal) {
    contract.setMode({ size: 8 * 1024 * 1024, length: true, checksum: true, delayMs: 20 });
    const transfer = await started();
    await transfer.open(settings, signal);
    let halfway!: () => void;
    const reached = new Promise<void>((resolve) => (halfway = resolve));
    const outcome = transfer.upload([join(dir, target)], (bytes) => bytes > 512 * 1024 && halfway());
    await reached;
    return { transfer, outcome, rclonePid: [...transfer['rclonePids']][0] };
  }

  it('streams, hashes and reports progress, and the next run reuses the worker', async () => {
    contract.setMode({ size: 3 * 1024 * 1024 + 5, length: true, checksum: true, delayMs: 0 });
    const transfer = await started();
    await transfer.open(settings, new AbortController().signal);
    expect(transfer).toMatchObject({ contentLength: 3 * 1024 * 1024 + 5, sha256: sha256Of(3 * 1024 * 1024 + 5) });
    const seen: number[] = [];
    const outcome = await transfer.upload([join(dir, 'whole.db')], (bytes) => seen.push(bytes));
    expect(outcome).toMatchObject({ received: { status: 'fulfilled' }, stored: [{ status: 'fulfilled' }], bytes: 3 * 1024 * 1024 + 5 });
    expect(outcome.sha256).toBe(sha256Of(3 * 1024 * 1024 + 5));
    expect(seen.at(-1)).toBe(3 * 1024 * 1024 + 5);
    const worker = transfer['worker'];
    transfer.close();
    transfers.length = 0;
    expect((await started())['worker']).toBe(worker);
  });

  it('streams one export into several targets at once; a target that fails does not stop the others', async () => {
    contract.setMode({ size: 3 * 1024 * 1024 + 5, length: true, checksum: true, delayMs: 0 });
    const transfer = await started();
    await transfer.open(settings, new AbortController().signal);
    // A folder where a file is expected: rclone fails at once for that target.
    const blocked = join(dir, 'whole.db', 'under-a-file.db');
    const outcome = await transfer.upload([join(dir, 'first.db'), blocked, join(dir, 'third.db')], () => undefined);
    expect(outcome.received.status).toBe('fulfilled');
    expect(outcome.stored.map((side) => side.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    for (const name of ['first.db', 'third.db']) expect(readFileSync(join(dir, name)).length).toBe(3 * 1024 * 1024 + 5);
  });

  it('fails the upload with a clear message and kills rclone when the worker dies mid-run', async () => {
    const { transfer, outcome, rclonePid } = await midUpload('crash.db');
    expect(processState(rclonePid)).toBe('running');
    transfer['worker'].postMessage(null); // a message it cannot read: an uncaught TypeError, as a bug would
    const { received, stored } = await outcome;
    for (const side of [received, ...stored]) {
      expect(side.status).toBe('rejected');
      const reason = (side as PromiseRejectedResult).reason as BackupFailure;
      expect(reason).toBeInstanceOf(BackupFailure);
      expect(reason.step).toBe('upload');
      expect(reason.message).toMatch(/^the thread streaming the backup stopped unexpectedly after \d+ bytes \(Cannot read properties of null \(reading 'type'\)\); rclone was stopped$/);
    }
    expect(processState(rclonePid)).toBe('SIGKILL');
  });

  it('carries an abort into the worker: the export stops, rclone is killed, the worker serves again', async () => {
    const stop = new AbortController();
    const { transfer, outcome, rclonePid } = await midUpload('aborted.db', stop.signal);
    stop.abort(new BackupFailure('export', 'stalled'));
    const { received, stored }: UploadOutcome = await outcome;
    expect([received.status, stored[0].status]).toEqual(['rejected', 'rejected']);
    expect(processState(rclonePid)).not.toBe('running');
    expect(existsSync(join(dir, 'aborted.db')) && readFileSync(join(dir, 'aborted.db')).length === 8 * 1024 * 1024).toBe(false);

    const worker = transfer['worker'];
    transfer.close();
    transfers.length = 0;
    contract.setMode({ size: 1000, length: true, checksum: true, delayMs: 0 });
    const next = await started();
    expect(next['worker']).toBe(worker);
    await next.open(settings, new AbortController().signal);
    expect((await next.upload([join(dir, 'after.db')], () => undefined)).stored[0].status).toBe('fulfilled');
  });

  it("rejects with the service's reason when aborted while the app has not answered", async () => {
    contract.setMode({ behaviour: 'silent-export' });
    const transfer = await started();
    const stop = new AbortController();
    const opening = transfer.open(settings, stop.signal);
    const reason = new BackupFailure('export', 'app sent no data');
    stop.abort(reason);
    await expect(opening).rejects.toBe(reason);
  });

  it('fails the export when the worker dies before the app answered', async () => {
    contract.setMode({ behaviour: 'silent-export' });
    const transfer = await started();
    const opening = transfer.open(settings, new AbortController().signal);
    await transfer['worker'].terminate();
    await expect(opening).rejects.toThrow(/^the thread streaming the export stopped before the app answered \(exit code 1\)$/);
  });
});
