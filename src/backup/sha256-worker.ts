import { Worker } from 'node:worker_threads';

/** The worker's side: hashes batches in arrival order, hands each buffer back, and answers the digest to `null`. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
parentPort.on('message', (message) => {
  if (message === null) return parentPort.postMessage({ digest: hash.digest('hex') });
  hash.update(message.batch.subarray(0, message.length));
  parentPort.postMessage({ hashed: message.length, batch: message.batch }, [message.batch.buffer]);
});
`;

/** Big enough that messaging costs little per byte, small enough to keep the worker busy from the start. */
const BATCH_BYTES = 1 << 20;
/** Bytes sent but not yet hashed beyond which update() asks its caller to wait. */
const MAX_PENDING_BYTES = 8 << 20;

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

function deferred<T>(): Deferred<T> {
  const parts: Partial<Deferred<T>> = {};
  parts.promise = new Promise<T>((resolve, reject) => Object.assign(parts, { resolve, reject }));
  return parts as Deferred<T>;
}

/**
 * SHA-256 on a worker thread. On the event loop, hashing (~0.6 CPU-s per GiB even with SHA-NI) runs in
 * series with reading from the app and writing to rclone and makes the event loop the slowest stage of
 * the pipeline; on its own thread it runs beside them. Chunks are copied into fixed batch buffers that
 * travel to the worker and back (transferred, never shared or reallocated), so a chunk the caller still
 * holds is never detached and memory stays flat: at most ~MAX_PENDING_BYTES of batches exist.
 */
export class Sha256Worker {
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  private readonly spare: Buffer<ArrayBuffer>[] = [];
  private batch = this.take();
  private filled = 0;
  private pendingBytes = 0;
  private room?: Deferred<void>;
  private result?: Deferred<string>;
  private failure?: Error;

  constructor() {
    this.worker.on('message', (message: { hashed: number; batch: Uint8Array<ArrayBuffer> } | { digest: string }) => {
      if ('digest' in message) return this.result?.resolve(message.digest);
      this.spare.push(Buffer.from(message.batch.buffer));
      this.pendingBytes -= message.hashed;
      if (this.pendingBytes <= MAX_PENDING_BYTES) this.wake();
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', () => this.fail(new Error('the SHA-256 worker stopped')));
  }

  /** Queues `chunk`; returns a promise to wait for when the worker has fallen behind. */
  update(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    for (let offset = 0; offset < chunk.length; ) {
      const copied = chunk.copy(this.batch, this.filled, offset);
      this.filled += copied;
      offset += copied;
      if (this.filled === BATCH_BYTES) this.send();
    }
    if (this.pendingBytes <= MAX_PENDING_BYTES) return undefined;
    return (this.room ??= deferred()).promise;
  }

  /** The hex digest of everything passed to update(). */
  digest(): Promise<string> {
    this.send();
    if (this.failure) return Promise.reject(this.failure);
    this.worker.postMessage(null);
    return (this.result ??= deferred()).promise;
  }

  destroy(): void {
    void this.worker.terminate();
  }

  private send(): void {
    if (this.filled > 0 && !this.failure) {
      this.worker.postMessage({ batch: this.batch, length: this.filled }, [this.batch.buffer]);
      this.pendingBytes += this.filled;
      this.batch = this.take();
    }
    this.filled = 0;
  }

  /** allocUnsafeSlow: a buffer of its own, never a slice of Node's shared pool that a transfer would detach. */
  private take(): Buffer<ArrayBuffer> {
    return this.spare.pop() ?? Buffer.allocUnsafeSlow(BATCH_BYTES);
  }

  private wake(): void {
    const room = this.room;
    this.room = undefined;
    room?.resolve();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.room?.reject(this.failure);
    this.result?.reject(this.failure);
    this.room = this.result = undefined;
  }
}
