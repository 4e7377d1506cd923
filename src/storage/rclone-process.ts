import { ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { forChild, RclonePath } from './rclone-crypt';
import { RcatOptions, RcloneError } from './rclone.adapter';
import { english } from '../common/i18n';

// rclone as a child process, without Nest: the CLI adapter runs it, and so does the export's worker
// thread (src/backup/export-transfer.worker.ts), which streams a backup into rcat on a core of its own.

/** How much of rclone's stderr is kept for an error message: its last words. */
export const STDERR_TAIL_BYTES = 2048;

/** What running rclone needs from the configuration (AppConfig has it). */
export interface RcloneSettings {
  rclone: { bin: string; configPath?: string };
  /** Private folder for what rclone must spool. */
  tmpDir: string;
}

export class RcloneNotFoundError extends Error {
  constructor(bin: string) {
    super(english('failure.rcloneNotFound', { bin }));
  }
}

export async function rcat(settings: RcloneSettings, target: RclonePath, source: Readable, { size, signal, started }: RcatOptions = {}): Promise<void> {
  // Backends that cannot stream an unknown size spool to TMPDIR: one folder per upload, inside the
  // service's own private tmp folder (emptied at boot), so a crash leaves nothing in the system's.
  await mkdir(settings.tmpDir, { recursive: true, mode: 0o700 });
  const spool = await mkdtemp(join(settings.tmpDir, 'rcat-'));
  try {
    // The source may have failed, or the run been stopped, while the folder was made: the guards below
    // would never fire, and rclone must never start on a stream that already ended short.
    signal?.throwIfAborted();
    if (source.destroyed && !source.readableEnded) throw source.errored ?? new Error(english('failure.streamClosedEarly'));
    const { arg, env } = forChild(target);
    const args = ['rcat', arg, ...(size === undefined ? [] : ['--size', String(size)])];
    const child = spawnRclone(settings, args, { stdin: true, env: { ...env, TMPDIR: spool } });
    if (child.pid !== undefined) started?.(child.pid);
    let killed = false;
    const kill = () => {
      killed = true;
      child.kill('SIGKILL');
    };
    // rclone stopped reading (a full disk: it closes its stdin, cleans up, then exits with its reason): the broken
    // pipe then destroys the source too, but rclone can no longer take anything for a clean end, and a kill
    // would only cut the exit that says why.
    let stdinBroke = false;
    child.stdin!.once('error', () => (stdinBroke = true));
    // Registered before pipeline() so rclone dies before its stdin is closed (a close is a clean EOF to it).
    source.once('error', () => stdinBroke || kill());
    source.once('close', () => source.readableEnded || stdinBroke || kill());
    const onAbort = () => {
      kill();
      source.destroy(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const [piped, exited] = await Promise.allSettled([pipeline(source, child.stdin!), completion(child, 'rcat', settings.rclone.bin)]);
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

export function spawnRclone(settings: RcloneSettings, args: string[], options: { stdin: boolean; env?: Record<string, string> }): ChildProcess {
  const configArgs = settings.rclone.configPath ? ['--config', settings.rclone.configPath] : [];
  // The whole environment goes through: rclone reads its RCLONE_CONFIG_* remotes from it.
  return spawn(settings.rclone.bin, [...args, ...configArgs], {
    stdio: [options.stdin ? 'pipe' : 'ignore', options.stdin ? 'ignore' : 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
}

/** Resolves on exit 0; otherwise rejects with rclone's last words. */
export function completion(child: ChildProcess, command: string, bin: string): Promise<void> {
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
  });
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new RcloneNotFoundError(bin) : error),
    );
    child.once('close', (code) => (code === 0 ? resolve() : reject(new RcloneError(command, code, stderr.trim()))));
  });
}
