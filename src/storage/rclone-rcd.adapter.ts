import type { Readable } from 'node:stream';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RcloneCliAdapter } from './rclone-cli.adapter';
import { connectionString, RclonePath } from './rclone-crypt';
import { RcloneDaemon, RcloneRcError, SMALL_UPLOAD_BYTES } from './rclone-daemon';
import { RcatOptions, RcloneAdapter, RemoteEntry } from './rclone.adapter';
import { english } from '../common/i18n';

/** How long a call that got no answer waits to learn whether rclone died (and so may be sent again). */
const DEATH_WAIT_MS = 2000;

/**
 * rclone through one long-lived `rclone rcd` and its remote-control API: listing, moving, deleting, small
 * uploads and the version cost a loopback HTTP request instead of a process each, and remotes keep one
 * connection pool and token. Large uploads and reads stay CLI processes: rc's upload is not told the size
 * (rclone would spool what a backend cannot stream) and takes a truncated body for a complete file. The
 * daemon starts with the service, is started again on the next call after it died, and stops with it.
 */
@Injectable()
export class RcloneRcdAdapter extends RcloneAdapter implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RcloneRcdAdapter.name);
  private daemon?: Promise<RcloneDaemon>;
  private shutDown = false;

  constructor(
    private readonly config: AppConfig,
    private readonly cli: RcloneCliAdapter,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    // Warm, not required: a failure here is reported again by the first call (and by health).
    this.running().catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    this.shutDown = true;
    await (await this.daemon?.catch(() => undefined))?.stop();
  }

  async rcat(target: RclonePath, source: Readable, options: RcatOptions = {}): Promise<void> {
    const { size, signal } = options;
    if (size === undefined || size >= SMALL_UPLOAD_BYTES) return this.cli.rcat(target, source, options);
    // Read whole before rclone hears of it: a source that fails or closes early never reaches rclone at all.
    const bytes = await readAll(source, signal);
    const { fs, remote } = splitPath(target);
    await this.call('operations/uploadfile', { fs, remote: '' }, { file: { name: remote, bytes }, signal });
  }

  cat(path: RclonePath, signal?: AbortSignal): { stream: Readable; done: Promise<void> } {
    return this.cli.cat(path, signal);
  }

  /** rc's config/listremotes leaves out the RCLONE_CONFIG_* remotes, which `listremotes --long` includes. */
  remoteTypes(): Promise<Map<string, string>> {
    return this.cli.remoteTypes();
  }

  async list(folder: RclonePath): Promise<RemoteEntry[]> {
    try {
      const { list } = await this.call<{ list: { Name: string; Size: number; ModTime: string; IsDir: boolean }[] }>(
        'operations/list',
        { ...(typeof folder === 'string' ? { fs: folder, remote: '' } : splitPath(folder)), opt: { noMimeType: true } },
      );
      return list.map((entry) => ({ name: entry.Name, size: entry.Size, modifiedAt: entry.ModTime, isDir: entry.IsDir }));
    } catch (error) {
      // "directory not found": no backups yet.
      if (error instanceof RcloneRcError && error.notFound) return [];
      throw error;
    }
  }

  async moveTo(from: string, to: string): Promise<void> {
    const source = splitPath(from);
    const target = splitPath(to);
    await this.call('operations/movefile', { srcFs: source.fs, srcRemote: source.remote, dstFs: target.fs, dstRemote: target.remote });
  }

  async deleteFile(path: string): Promise<void> {
    await this.call('operations/deletefile', splitPath(path));
  }

  async version(): Promise<string> {
    return `rclone ${(await this.call<{ version: string }>('core/version', {})).version}`;
  }

  private async call<T>(command: string, params: Record<string, string | object>, options?: Parameters<RcloneDaemon['call']>[2]): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const daemon = await this.running();
      try {
        return await daemon.call<T>(command, params, options);
      } catch (error) {
        // No answer because rclone died: the request goes once more, to the rclone started next. Every
        // command here is safe to repeat: a repeated listing or upload is the same, a repeated move or
        // delete of a file already moved or deleted finds nothing, which callers treat as a failure or as done.
        const unanswered = error instanceof RcloneRcError && error.status === null && !options?.signal?.aborted;
        if (!unanswered || attempt === 2 || !(await daemon.died(DEATH_WAIT_MS))) throw error;
      }
    }
  }

  /** The daemon, started now if there is none (never started, or it died). */
  private running(): Promise<RcloneDaemon> {
    if (this.shutDown) return Promise.reject(new RcloneRcError('rcd', null, english('failure.rcloneShuttingDown')));
    this.daemon ??= this.start();
    return this.daemon;
  }

  private start(): Promise<RcloneDaemon> {
    const { bin, configPath } = this.config.rclone;
    const started = RcloneDaemon.start({ bin, configPath, tmpDir: this.config.tmpDir });
    const forget = () => {
      if (this.daemon === started) this.daemon = undefined;
    };
    started.then(
      (daemon) =>
        void daemon.exited.then(() => {
          forget();
          if (!this.shutDown) this.logger.warn(`${daemon.exitDescription()}; it is started again on the next call`);
        }),
      forget, // a fixed rclone (or config) is picked up on the next try
    );
    return started;
  }
}

/** The whole source; rejects when it errors, closes before its end, or `signal` aborts (which destroys it, as a killed rcat would). */
async function readAll(source: Readable, signal?: AbortSignal): Promise<Buffer> {
  const onAbort = () => source.destroy(signal!.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return Buffer.concat(await source.toArray());
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * "remote:folder/file" as rc's fs and remote: the folder and the file name. Backup file names never hold
 * "/" or ":", so the name is what follows the last of them, whatever quoting the remote's options use.
 * A crypt path is the crypt folder's inline remote (the daemon's environment is fixed since it started).
 */
export function splitPath(path: RclonePath): { fs: string; remote: string } {
  if (typeof path !== 'string') return { fs: connectionString(path.crypt), remote: path.name };
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf(':'));
  const folder = path.slice(0, cut + 1);
  return { fs: folder.length > 1 && folder.endsWith('/') ? folder.slice(0, -1) : folder, remote: path.slice(cut + 1) };
}
