import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { forChild, RclonePath } from './rclone-crypt';
import { RcatOptions, RcloneAdapter, RcloneError, RemoteEntry } from './rclone.adapter';
import { completion, rcat, spawnRclone } from './rclone-process';

/** rclone as a child process: an argument array (never a shell), the configured config file, typed errors. */
@Injectable()
export class RcloneCliAdapter extends RcloneAdapter {
  constructor(private readonly config: AppConfig) {
    super();
  }

  rcat(target: RclonePath, source: Readable, options?: RcatOptions): Promise<void> {
    return rcat(this.config, target, source, options);
  }

  cat(path: RclonePath, signal?: AbortSignal): { stream: Readable; done: Promise<void> } {
    const { arg, env } = forChild(path);
    const child = this.spawn(['cat', arg], { stdin: false, env });
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = this.completion(child, 'cat').finally(() => signal?.removeEventListener('abort', onAbort));
    return { stream: child.stdout!, done };
  }

  async moveTo(from: string, to: string): Promise<void> {
    await this.run(['moveto', from, to]);
  }

  async list(folder: RclonePath): Promise<RemoteEntry[]> {
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

  /** Runs one command; a crypt path among the arguments is defined in the child's environment. */
  private async run([command, ...args]: [string, ...RclonePath[]]): Promise<string> {
    const paths = args.map(forChild);
    const env = Object.assign({}, ...paths.map((path) => path.env)) as Record<string, string>;
    const child = this.spawn([command, ...paths.map((path) => path.arg)], { stdin: false, env });
    const chunks: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
    await this.completion(child, command);
    return Buffer.concat(chunks).toString('utf8');
  }

  private spawn(args: string[], options: { stdin: boolean; env?: Record<string, string> }): ChildProcess {
    return spawnRclone(this.config, args, options);
  }

  private completion(child: ChildProcess, command: string): Promise<void> {
    return completion(child, command, this.config.rclone.bin);
  }
}
