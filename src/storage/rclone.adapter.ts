import type { Readable } from 'node:stream';
import { english } from '../common/i18n';
import { RclonePath, redactPasswords } from './rclone-crypt';

/** One entry of `rclone lsjson`. */
export interface RemoteEntry {
  name: string;
  size: number;
  modifiedAt: string;
  isDir: boolean;
}

export interface RcatOptions {
  /** Exact byte count when known: rclone then uploads without spooling and faster. */
  size?: number;
  /** Aborting kills rclone at once. */
  signal?: AbortSignal;
  /** Told rclone's process id once it runs: whoever may outlive the caller (the export's worker thread) can kill it. */
  started?: (pid: number) => void;
}

/** rclone failed; `stderrTail` is what it said (never a password it quoted), for the run's error. */
export class RcloneError extends Error {
  readonly stderrTail: string;

  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    stderrTail: string,
  ) {
    super();
    this.stderrTail = redactPasswords(stderrTail);
    this.message = english('failure.rcloneFailed', {
      command,
      how: exitCode === null ? english('failure.rcloneKilled') : english('failure.rcloneExit', { code: exitCode }),
      said: this.stderrTail || english('failure.rcloneNoMessage'),
    });
  }

  /** rclone's exit codes 3 and 4: directory or file not found. */
  get notFound(): boolean {
    return this.exitCode === 3 || this.exitCode === 4;
  }
}

/**
 * The port to rclone. Paths are rclone paths: "remote:folder/file", connection strings or local paths;
 * those that carry backup contents (uploads, reads, the listing that checks an upload) may go through crypt.
 */
export abstract class RcloneAdapter {
  /**
   * Streams `source` into `target`. rclone sees end of file only when the source ends cleanly: when the
   * source errors or closes early, rclone is killed first, so a truncated stream never completes a file.
   */
  abstract rcat(target: RclonePath, source: Readable, options?: RcatOptions): Promise<void>;
  /**
   * Streams a stored file. `done` settles when rclone exits: it rejects when rclone failed, in which
   * case `stream` ends short or errors and must not be taken as the whole file.
   */
  abstract cat(path: RclonePath, signal?: AbortSignal): { stream: Readable; done: Promise<void> };
  abstract moveTo(from: string, to: string): Promise<void>;
  /** Files and folders directly in `folder`; an empty list when the folder does not exist yet. */
  abstract list(folder: RclonePath): Promise<RemoteEntry[]>;
  abstract deleteFile(path: string): Promise<void>;
  /** Configured remote names and their types ("gdrive" → "drive"). */
  abstract remoteTypes(): Promise<Map<string, string>>;
  abstract version(): Promise<string>;
}
