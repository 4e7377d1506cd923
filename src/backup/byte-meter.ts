import { createHash, Hash } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import { english, MessageKey } from '../common/i18n';
import { formatByteSize } from '../config/byte-size';
import { BackupFailure, BackupStep } from './backup-failure';

export interface MeterLimits {
  maxBytes: number | null;
  /** Size announced for the stream (Content-Length, or the size recorded at backup time). */
  expectedBytes?: number;
  /** SHA-256 announced for the stream (X-Backup-Sha256, or the one recorded at backup time). */
  expectedSha256?: string;
  /**
   * SHA-256 the source sends after its body (the X-Backup-Sha256 trailer), asked for once the body ended; it
   * throws a BackupFailure when that is missing or wrong in itself. Checked like expectedSha256, and first.
   */
  trailingSha256?: () => string;
  /** An export without a byte is no backup: fail rather than store it and let it count for retention. */
  refuseEmpty?: boolean;
}

/** The step a bad stream fails, and its messages, so that each use reads naturally (and translates as a whole). */
export interface MeterWording {
  step: BackupStep;
  tooLong: MessageKey;
  truncated: MessageKey;
  hashDiffers: MessageKey;
  empty: MessageKey;
}

const EXPORT_WORDING: MeterWording = {
  step: 'export',
  tooLong: 'failure.exportTooLong',
  truncated: 'failure.exportTruncated',
  hashDiffers: 'failure.exportHash',
  empty: 'failure.exportEmpty',
};

/** Reading back a stored file, checked against what was recorded when it was made. */
export const STORED_WORDING: MeterWording = {
  step: 'read',
  tooLong: 'failure.storedTooLong',
  truncated: 'failure.storedTruncated',
  hashDiffers: 'failure.storedHash',
  empty: 'failure.storedEmpty',
};

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
      return callback(this.failure('failure.tooBig', { max: formatByteSize(maxBytes) }));
    }
    if (expectedBytes !== undefined && this.bytes > expectedBytes) {
      return callback(this.failure(this.wording.tooLong, { expected: expectedBytes }));
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
    if (refuseEmpty && this.bytes === 0) return callback(this.failure(this.wording.empty));
    if (expectedBytes !== undefined && this.bytes !== expectedBytes) {
      return callback(this.failure(this.wording.truncated, { bytes: this.bytes, expected: expectedBytes }));
    }
    if (this.limits.trailingSha256) {
      let trailer: string;
      try {
        trailer = this.limits.trailingSha256();
      } catch (error) {
        return callback(error as Error);
      }
      if (this.sha256 !== trailer.toLowerCase()) return callback(this.failure('failure.trailerHash', { actual: this.sha256, expected: trailer }));
    }
    if (expectedSha256 !== undefined && this.sha256 !== expectedSha256.toLowerCase()) {
      return callback(this.failure(this.wording.hashDiffers, { actual: this.sha256, expected: expectedSha256 }));
    }
    callback(null, this.held);
  }

  private failure(key: MessageKey, params: Record<string, unknown> = {}): BackupFailure {
    return new BackupFailure(this.wording.step, english(key, params));
  }
}
