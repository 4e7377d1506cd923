import { createHash, Hash } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import { formatByteSize } from '../config/byte-size';
import { BackupFailure } from './backup-failure';

export interface MeterLimits {
  maxBytes: number | null;
  /** Content-Length announced by the app. */
  expectedBytes?: number;
  /** X-Backup-Sha256 announced by the app. */
  expectedSha256?: string;
}

/**
 * The one pass over the backup bytes: counts, hashes, enforces the size limit, and checks the total
 * against what the app announced. Those checks run in flush(), before the end is passed on, so a short
 * or corrupt stream errors instead of ever reaching rclone as a complete file.
 */
export class ByteMeter extends Transform {
  bytes = 0;
  sha256?: string;
  private readonly hash: Hash = createHash('sha256');

  constructor(
    private readonly limits: MeterLimits,
    private readonly onProgress: (bytes: number) => void,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const { maxBytes, expectedBytes } = this.limits;
    if (maxBytes !== null && this.bytes > maxBytes) {
      return callback(new BackupFailure('export', `backup exceeds MAX_BACKUP_SIZE (${formatByteSize(maxBytes)}); stopped`));
    }
    if (expectedBytes !== undefined && this.bytes > expectedBytes) {
      return callback(new BackupFailure('export', `app sent more than its Content-Length of ${expectedBytes} bytes`));
    }
    this.hash.update(chunk);
    this.onProgress(this.bytes);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.sha256 = this.hash.digest('hex');
    const { expectedBytes, expectedSha256 } = this.limits;
    if (expectedBytes !== undefined && this.bytes !== expectedBytes) {
      return callback(
        new BackupFailure('export', `app sent ${this.bytes} bytes but announced Content-Length ${expectedBytes}: the body is truncated`),
      );
    }
    if (expectedSha256 !== undefined && this.sha256 !== expectedSha256.toLowerCase()) {
      return callback(
        new BackupFailure('export', `SHA-256 of the received bytes (${this.sha256}) differs from X-Backup-Sha256 (${expectedSha256})`),
      );
    }
    callback();
  }
}
