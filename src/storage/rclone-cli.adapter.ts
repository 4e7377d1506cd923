import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RcatOptions, RcloneAdapter, RcloneError, RemoteEntry } from './rclone.adapter';
import { completion, rcat, spawnRclone } from './rclone-process';

/** rclone as a child process: an argument array (never a shell), the configured config file, typed errors. */
@Injectable()
export class RcloneCliAdapter extends RcloneAdapter {
  constructor(private readonly config: AppConfig) {
    super();
  }

  rcat(target: string, source: Readable, options?: RcatOptions): Promise<void> {
    return rcat(this.config, target, source, options);
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
    return spawnRclone(this.config, args, options);
  }

  private completion(child: ChildProcess, command: string): Promise<void> {
    return completion(child, command, this.config.rclone.bin);
  }
}
