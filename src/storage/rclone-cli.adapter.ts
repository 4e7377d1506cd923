import { ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RcatOptions, RcloneAdapter, RcloneError, RemoteEntry } from './rclone.adapter';

const STDERR_TAIL_BYTES = 2048;

export class RcloneNotFoundError extends Error {
  constructor(bin: string) {
    super(`rclone not found at "${bin}": install it (apt-get install rclone) or set RCLONE_BIN`);
  }
}

/** rclone as a child process: an argument array (never a shell), the configured config file, typed errors. */
@Injectable()
export class RcloneCliAdapter extends RcloneAdapter {
  constructor(private readonly config: AppConfig) {
    super();
  }

  async rcat(target: string, source: Readable, { size, signal }: RcatOptions = {}): Promise<void> {
    // Backends that cannot stream an unknown size spool to TMPDIR: one folder per upload, inside the
    // service's own private tmp folder (emptied at boot), so a crash leaves nothing in the system's.
    await mkdir(this.config.tmpDir, { recursive: true, mode: 0o700 });
    const spool = await mkdtemp(join(this.config.tmpDir, 'rcat-'));
    try {
      // The source may have failed, or the run been stopped, while the folder was made: the guards below
      // would never fire, and rclone must never start on a stream that already ended short.
      signal?.throwIfAborted();
      if (source.destroyed && !source.readableEnded) throw source.errored ?? new Error('the stream closed before the upload started');
      const args = ['rcat', target, ...(size === undefined ? [] : ['--size', String(size)])];
      const child = this.spawn(args, { stdin: true, env: { TMPDIR: spool } });
      let killed = false;
      const kill = () => {
        killed = true;
        child.kill('SIGKILL');
      };
      // Registered before pipeline() so rclone dies before its stdin is closed (a close is a clean EOF to it).
      source.once('error', kill);
      source.once('close', () => source.readableEnded || kill());
      const onAbort = () => {
        kill();
        source.destroy(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const [piped, exited] = await Promise.allSettled([pipeline(source, child.stdin!), this.completion(child, 'rcat')]);
        // rclone's own failure (an exit code, or a death we did not cause) explains a broken stdin, even
        // though the broken pipe destroyed the source and so called kill(); only our kill is the source's doing.
        const killedByUs = killed && exited.status === 'rejected' && exited.reason instanceof RcloneError && exited.reason.exitCode === null;
        if (exited.status === 'rejected' && !killedByUs) throw exited.reason;
        if (piped.status === 'rejected') throw piped.reason;
        if (exited.status === 'rejected') throw exited.reason;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
  }

  cat(path: string, signal?: AbortSignal): { stream: Readable; done: Promise<void> } {
    const child = this.spawn(['cat', path], { stdin: false });
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = this.completion(child, 'cat').finally(() => signal?.removeEventListener('abort', onAbort));
    return { stream: child.stdout!, done };
  }

  async moveTo(from: string, to: string): Promise<void> {
    await this.run(['moveto', from, to]);
  }

  async list(folder: string): Promise<RemoteEntry[]> {
    let output: string;
    try {
      output = await this.run(['lsjson', folder, '--no-mimetype']);
    } catch (error) {
      // Exit 3: the folder does not exist yet, which for us is "no backups". Its stdout is not valid JSON.
      if (error instanceof RcloneError && error.exitCode === 3) return [];
      throw error;
    }
    const entries = JSON.parse(output) as { Name: string; Size: number; ModTime: string; IsDir: boolean }[];
    return entries.map((entry) => ({ name: entry.Name, size: entry.Size, modifiedAt: entry.ModTime, isDir: entry.IsDir }));
  }

  async deleteFile(path: string): Promise<void> {
    await this.run(['deletefile', path]);
  }

  async remoteTypes(): Promise<Map<string, string>> {
    const output = await this.run(['listremotes', '--long']);
    const types = new Map<string, string>();
    for (const line of output.split('\n')) {
      const match = /^(.+?):\s+(\S+)\s*$/.exec(line);
      if (match) types.set(match[1], match[2]);
    }
    return types;
  }

  async version(): Promise<string> {
    return (await this.run(['version'])).split('\n')[0].trim();
  }

  private async run(args: string[]): Promise<string> {
    const child = this.spawn(args, { stdin: false });
    const chunks: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
    await this.completion(child, args[0]);
    return Buffer.concat(chunks).toString('utf8');
  }

  private spawn(args: string[], options: { stdin: boolean; env?: Record<string, string> }): ChildProcess {
    const configArgs = this.config.rclone.configPath ? ['--config', this.config.rclone.configPath] : [];
    // The whole environment goes through: rclone reads its RCLONE_CONFIG_* remotes from it.
    return spawn(this.config.rclone.bin, [...args, ...configArgs], {
      stdio: [options.stdin ? 'pipe' : 'ignore', options.stdin ? 'ignore' : 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
  }

  /** Resolves on exit 0; otherwise rejects with rclone's last words. */
  private completion(child: ChildProcess, command: string): Promise<void> {
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    return new Promise((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'ENOENT' ? new RcloneNotFoundError(this.config.rclone.bin) : error),
      );
      child.once('close', (code) => (code === 0 ? resolve() : reject(new RcloneError(command, code, stderr.trim()))));
    });
  }
}
