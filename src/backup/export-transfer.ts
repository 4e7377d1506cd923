import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SHARE_ENV, Worker } from 'node:worker_threads';
import { RcloneError } from '../storage/rclone.adapter';
import type { RclonePath } from '../storage/rclone-crypt';
import type { RcloneSettings } from '../storage/rclone-process';
import { BackupFailure, BackupStep } from './backup-failure';
import type { AppEndpoint } from './contract-http';
import { english } from '../common/i18n';

/** What the worker needs: the app to ask, how to run rclone, and the size limit. */
export interface TransferSettings extends RcloneSettings {
  endpoint: AppEndpoint;
  maxBytes: number | null;
  /** With several destinations, one that takes no byte for this long is cut off alone. */
  stallMs: number;
}

/** Each side of the byte path as it ended: the app's response into the meter, and the meter into each destination's rclone. */
export interface UploadOutcome {
  received: PromiseSettledResult<void>;
  /** One per target, in order. */
  stored: PromiseSettledResult<void>[];
  bytes: number;
  sha256?: string;
  /** A small backup, checked but not stored yet: the caller stores it (through the rclone daemon). */
  collected?: Buffer;
}

/** Errors cross the thread boundary as data: the service words and classifies them as if thrown here. */
export type WireError =
  | { kind: 'failure'; step: BackupStep; message: string }
  | { kind: 'rclone'; command: string; exitCode: number | null; stderrTail: string }
  | { kind: 'error'; message: string };

export type WireOutcome = { status: 'fulfilled' } | { status: 'rejected'; error: WireError };

export type ToWorker = { type: 'open'; settings: TransferSettings } | { type: 'upload'; targets: RclonePath[] } | { type: 'abort' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'opened'; contentLength?: number; sha256?: string; trailer: boolean; contentDisposition?: string }
  | { type: 'failed'; error: WireError }
  | { type: 'rclone'; pid: number }
  | { type: 'progress'; bytes: number; waiting: boolean }
  | { type: 'settled'; received: WireOutcome; stored: WireOutcome[]; bytes: number; sha256?: string; collected?: Uint8Array };

export function toWire(error: unknown): WireError {
  if (error instanceof BackupFailure) return { kind: 'failure', step: error.step, message: error.message };
  if (error instanceof RcloneError) return { kind: 'rclone', command: error.command, exitCode: error.exitCode, stderrTail: error.stderrTail };
  return { kind: 'error', message: (error as Error).message };
}

function fromWire(error: WireError): Error {
  if (error.kind === 'failure') return new BackupFailure(error.step, error.message);
  if (error.kind === 'rclone') return new RcloneError(error.command, error.exitCode, error.stderrTail);
  return new Error(error.message);
}

function settledOf(outcome: WireOutcome): PromiseSettledResult<void> {
  return outcome.status === 'fulfilled' ? { status: 'fulfilled', value: undefined } : { status: 'rejected', reason: fromWire(outcome.error) };
}

/**
 * The worker is compiled beside this file (dist/backup). Tests run this file from src/ through vitest,
 * while Node cannot start a worker from TypeScript: they use the build, which `npm test` makes first.
 */
const WORKER_FILE = [join(__dirname, 'export-transfer.worker.js'), join(__dirname, '../../dist/backup/export-transfer.worker.js')].find(
  (file) => existsSync(file),
);

/** How long a worker waits for the next run before it ends. */
const IDLE_MS = 60_000;
/** Workers whose run ended cleanly, kept for the next: booting one costs more than moving a small backup. */
const idle = new Map<Worker, NodeJS.Timeout>();

function takeWorker(): Promise<Worker> {
  const [worker, timer] = idle.entries().next().value ?? [];
  if (worker) {
    clearTimeout(timer);
    idle.delete(worker);
    worker.ref();
    return Promise.resolve(worker);
  }
  if (!WORKER_FILE) throw new Error('export-transfer.worker.js was not built: run npm run build');
  const booting = new Worker(WORKER_FILE, { env: SHARE_ENV });
  let failure: Error | undefined;
  // A run listens for its worker's death itself; an idle worker that dies just leaves the pool.
  booting.on('error', (error) => (failure = error)).on('exit', () => idle.delete(booting));
  return new Promise((resolve, reject) => {
    booting.once('message', () => resolve(booting));
    booting.once('exit', (code) => reject(failure ?? new Error(`the thread for the export stopped while starting (exit code ${code})`)));
  });
}

function keepWorker(worker: Worker): void {
  worker.unref();
  idle.set(worker, setTimeout(() => void worker.terminate(), IDLE_MS).unref());
}

/**
 * One export streamed from the app into `rclone rcat` on a worker thread: the HTTP response, the
 * ByteMeter (count, SHA-256, limits, held-back last chunk) and the pipe to rclone all run there, so
 * parallel backups use every core instead of sharing the event loop. The service keeps the watchdog, the
 * run's log and the decisions; the worker reports headers, throttled progress and how each side ended.
 * A worker that dies before it reported counts as a failure of the run, and its rclone is killed.
 */
export class ExportTransfer {
  contentLength?: number;
  sha256?: string;
  /** The app announced an X-Backup-Sha256 trailer. */
  trailer = false;
  contentDisposition?: string;
  /** Bytes that went through the meter, as last reported. */
  bytes = 0;
  /** Bytes wait in the meter for rclone: when nothing moves, the storage side is the one that stopped. */
  waiting = false;
  /** The run's rclone processes (one per destination), killed with a worker that dies. */
  private readonly rclonePids = new Set<number>();
  /** The worker reported how its run ended and can serve another. */
  private reusable = false;
  private onMessage: (message: FromWorker) => void = () => undefined;
  private onDeath: (why: string) => void = () => undefined;
  private stopFollowing: () => void = () => undefined;
  private readonly listeners: { message: (message: FromWorker) => void; error: (error: Error) => void; exit: (code: number) => void };

  private constructor(private readonly worker: Worker) {
    let error: Error | undefined;
    this.listeners = {
      message: (message) => {
        if (message.type === 'rclone') this.rclonePids.add(message.pid);
        else this.onMessage(message);
      },
      error: (thrown) => (error = thrown),
      exit: (code) => {
        // rclone outlives a worker that dies (its stdin closes, which rclone would take as a clean end of file).
        for (const pid of this.rclonePids) killQuietly(pid);
        this.onDeath(error ? error.message : `exit code ${code}`);
      },
    };
    worker.on('message', this.listeners.message).on('error', this.listeners.error).on('exit', this.listeners.exit);
  }

  /**
   * A worker for one run, kept from an earlier run or started now. Called before the run's watchdog
   * starts: a worker's boot is not the app's silence.
   */
  static async start(): Promise<ExportTransfer> {
    return new ExportTransfer(await takeWorker());
  }

  /** Starts the export; resolves once the app answered with headers that pass, for the caller to choose a name. */
  open(settings: TransferSettings, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const abort = () => this.send({ type: 'abort' });
    signal.addEventListener('abort', abort, { once: true });
    this.stopFollowing = () => signal.removeEventListener('abort', abort);
    this.send({ type: 'open', settings });
    return new Promise((resolve, reject) => {
      this.onMessage = (message) => {
        if (message.type === 'opened') {
          ({ contentLength: this.contentLength, sha256: this.sha256, trailer: this.trailer, contentDisposition: this.contentDisposition } = message);
          resolve();
        }
        if (message.type === 'failed') {
          this.reusable = true;
          // The worker saw only its own abort: the reason (a stall, a shutdown) is the service's.
          reject(signal.aborted ? signal.reason : fromWire(message.error));
        }
      };
      this.onDeath = (why) =>
        reject(signal.aborted ? signal.reason : new BackupFailure('export', english('failure.threadBeforeAnswer', { why })));
    });
  }

  /** Streams the export into rclone at every target at once; resolves with how each side ended, never rejects. */
  upload(targets: RclonePath[], onProgress: (bytes: number) => void): Promise<UploadOutcome> {
    this.send({ type: 'upload', targets });
    return new Promise((resolve) => {
      this.onMessage = (message) => {
        if (message.type === 'progress') {
          this.waiting = message.waiting;
          if (message.bytes !== this.bytes) onProgress((this.bytes = message.bytes));
        }
        if (message.type === 'settled') {
          this.rclonePids.clear(); // rclone has exited: the numbers may belong to other processes by now
          this.reusable = true;
          const collected = message.collected && Buffer.from(message.collected.buffer, message.collected.byteOffset, message.collected.byteLength);
          resolve({ received: settledOf(message.received), stored: message.stored.map(settledOf), bytes: message.bytes, sha256: message.sha256, collected });
        }
      };
      this.onDeath = (why) => {
        const crash: PromiseSettledResult<void> = {
          status: 'rejected',
          reason: new BackupFailure('upload', english('failure.threadStopped', { bytes: this.bytes, why })),
        };
        resolve({ received: crash, stored: targets.map(() => crash), bytes: this.bytes });
      };
    });
  }

  /** Gives the worker back for the next run, or ends it (and with it the connection to the app) mid-run. */
  close(): void {
    this.stopFollowing();
    this.worker.off('message', this.listeners.message).off('error', this.listeners.error).off('exit', this.listeners.exit);
    if (this.reusable) keepWorker(this.worker);
    else {
      for (const pid of this.rclonePids) killQuietly(pid);
      void this.worker.terminate();
    }
  }

  private send(message: ToWorker): void {
    this.worker.postMessage(message);
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
