import { createHash, Hash } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import { formatByteSize } from '../config/byte-size';
import { BackupFailure, BackupStep } from './backup-failure';

export interface MeterLimits {
  maxBytes: number | null;
  /** Size announced for the stream (Content-Length, or the size recorded at backup time). */
  expectedBytes?: number;
  /** SHA-256 announced for the stream (X-Backup-Sha256, or the one recorded at backup time). */
  expectedSha256?: string;
  /** An export without a byte is no backup: fail rather than store it and let it count for retention. */
  refuseEmpty?: boolean;
}

/** How errors name the stream and what announced it, so each use reads naturally. */
export interface MeterWording {
  step: BackupStep;
  source: string;
  sizeFrom: string;
  hashFrom: string;
}

const EXPORT_WORDING: MeterWording = { step: 'export', source: 'app sent', sizeFrom: 'Content-Length', hashFrom: 'X-Backup-Sha256' };

/**
 * The one pass over backup bytes: counts, hashes, enforces the size limit, and checks the total against
 * what was announced. The last chunk is held back until those checks pass in flush(), so whoever reads
 * this stream (rclone, an app's import) never receives a complete body from a short or corrupt source.
 */
export class ByteMeter extends Transform {
  bytes = 0;
  sha256?: string;
  private readonly hash: Hash = createHash('sha256');
  private held?: Buffer;

  constructor(
    private readonly limits: MeterLimits,
    private readonly onProgress: (bytes: number) => void,
    private readonly wording: MeterWording = EXPORT_WORDING,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const { maxBytes, expectedBytes } = this.limits;
    if (maxBytes !== null && this.bytes > maxBytes) {
      return callback(this.failure(`backup exceeds MAX_BACKUP_SIZE (${formatByteSize(maxBytes)}); stopped`));
    }
    if (expectedBytes !== undefined && this.bytes > expectedBytes) {
      return callback(this.failure(`${this.wording.source} more than the ${expectedBytes} bytes of its ${this.wording.sizeFrom}`));
    }
    this.hash.update(chunk);
    this.onProgress(this.bytes);
    const previous = this.held;
    this.held = chunk;
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    this.sha256 = this.hash.digest('hex');
    const { expectedBytes, expectedSha256, refuseEmpty } = this.limits;
    const { source, sizeFrom, hashFrom } = this.wording;
    if (refuseEmpty && this.bytes === 0) return callback(this.failure(`the ${source} an empty backup`));
    if (expectedBytes !== undefined && this.bytes !== expectedBytes) {
      return callback(this.failure(`${source} ${this.bytes} bytes but ${sizeFrom} says ${expectedBytes}: the body is truncated`));
    }
    if (expectedSha256 !== undefined && this.sha256 !== expectedSha256.toLowerCase()) {
      return callback(this.failure(`SHA-256 of the bytes ${source} (${this.sha256}) differs from ${hashFrom} (${expectedSha256})`));
    }
    callback(null, this.held);
  }

  private failure(message: string): BackupFailure {
    return new BackupFailure(this.wording.step, message);
  }
}
