import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { printable } from '../common/printable';
import { redactPasswords } from './rclone-crypt';
import { RcloneNotFoundError, STDERR_TAIL_BYTES } from './rclone-process';
import { RcloneError } from './rclone.adapter';
import { english } from '../common/i18n';

/**
 * util-linux's setpriv (on every Debian, so in the image): started through it, rcd gets SIGKILL from the
 * kernel when the service dies, even by kill -9, instead of living on unreachable.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));
/** What setpriv exits with when it cannot run the program. */
const SETPRIV_CANNOT_EXECUTE = 127;
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

/**
 * Uploads below this size go through the daemon, read whole first (rc's upload is not told the size, and
 * rclone keeps such a body in memory on every backend: never a spool file); larger ones go to `rclone rcat`.
 */
export const SMALL_UPLOAD_BYTES = 1024 * 1024;

export interface UploadedFile {
  name: string;
  bytes: Buffer;
}

export interface DaemonOptions {
  bin: string;
  configPath?: string;
  /** Where rclone may spool (it should not need to for what the daemon is asked). */
  tmpDir: string;
}

/** rcd answered with an error, or did not answer; `status` 404 is rclone's "not found". */
export class RcloneRcError extends RcloneError {
  constructor(
    command: string,
    readonly status: number | null,
    said: string,
  ) {
    super(command, null, said);
    const how = status === null ? english('failure.rcdNoAnswer') : `HTTP ${status}`;
    this.message = english('failure.rcloneFailed', { command, how, said: this.stderrTail || english('failure.rcloneNoMessage') });
  }

  override get notFound(): boolean {
    return this.status === 404;
  }
}

/**
 * One `rclone rcd` child process: loopback only, on a port the kernel picks, behind a user and password
 * made up for this process alone (passed in its environment, which other users cannot read, unlike argv).
 */
export class RcloneDaemon {
  /** Settles when the process has exited, for whatever reason. */
  readonly exited: Promise<void>;
  private stderr = '';
  private stopping = false;
  /** The loopback port rcd picked. */
  port = 0;

  private constructor(
    private readonly child: ChildProcess,
    private readonly credentials: { user: string; pass: string },
    private readonly agent: Agent,
  ) {
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    // Where setpriv is missing, rcd still goes with this process on an uncaught exception or process.exit().
    process.once('exit', this.killOnExit);
    void this.exited.then(() => {
      process.removeListener('exit', this.killOnExit);
      agent.destroy();
    });
  }

  static async start({ bin, configPath, tmpDir }: DaemonOptions): Promise<RcloneDaemon> {
    const credentials = { user: randomBytes(12).toString('hex'), pass: randomBytes(24).toString('hex') };
    const env: NodeJS.ProcessEnv = { TMPDIR: tmpDir, RCLONE_RC_USER: credentials.user, RCLONE_RC_PASS: credentials.pass };
    // The rest of the environment goes through (RCLONE_CONFIG_* remotes), except what would change the
    // daemon itself: other rc settings (no auth, a public address, a web GUI) and where its log goes,
    // since the port is read from that log.
    for (const [key, value] of Object.entries(process.env)) {
      if (!/^RCLONE_(RC_|VERBOSE$|QUIET$|LOG_LEVEL$|LOG_FILE$|USE_JSON_LOG$|SYSLOG)/.test(key)) env[key] ??= value;
    }
    const args = ['rcd', '--rc-addr', '127.0.0.1:0', '--streaming-upload-cutoff', `${SMALL_UPLOAD_BYTES}B`, ...(configPath ? ['--config', configPath] : [])];
    const [command, commandArgs] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, args];
    const child = spawn(command, commandArgs, { stdio: ['ignore', 'ignore', 'pipe'], env });
    const daemon = new RcloneDaemon(child, credentials, new Agent({ keepAlive: true }));
    daemon.port = await daemon.listeningPort(bin);
    return daemon;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Whether the process is still there and was not asked to stop. */
  get alive(): boolean {
    return !this.stopping && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What rclone last said on stderr, without the credentials or a crypt password it quoted. */
  lastWords(): string {
    return printable(this.said().trim(), STDERR_TAIL_BYTES);
  }

  private said(): string {
    return redactPasswords(this.stderr.replaceAll(this.credentials.pass, '***'));
  }

  /** Why the process ended: its exit status, and Go's last cry if it crashed (the rest of its log is per-request noise). */
  exitDescription(): string {
    const { exitCode, signalCode } = this.child;
    const crash = this.said().match(/^(?:panic|fatal error): .*$/gm)?.pop();
    const how = signalCode ?? english('failure.rcloneExit', { code: exitCode });
    return crash ? english('failure.rcdCrashed', { how, said: printable(crash, 512) }) : english('failure.rcdExited', { how });
  }

  /** Whether the process exits within `ms` (or has already): a call that got no answer asks this. */
  died(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    return Promise.race([this.exited.then(() => true), waited]).finally(() => clearTimeout(timer));
  }

  /**
   * POSTs to an rc command: `params` as JSON, or, with `file`, as the query of a multipart upload of that
   * one file; resolves with rclone's JSON answer. Aborting `signal` drops the request.
   */
  call<T>(command: string, params: Record<string, string | object>, { file, signal }: { file?: UploadedFile; signal?: AbortSignal } = {}): Promise<T> {
    const boundary = `rcd-${randomBytes(12).toString('hex')}`;
    const query = file ? `?${new URLSearchParams(params as Record<string, string>)}` : '';
    const body = file
      ? Buffer.concat([
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\n` +
            `Content-Type: application/octet-stream\r\n\r\n`),
          file.bytes,
          Buffer.from(`\r\n--${boundary}--\r\n`),
        ])
      : Buffer.from(JSON.stringify(params));
    const contentType = file ? `multipart/form-data; boundary=${boundary}` : 'application/json';
    const { user, pass } = this.credentials;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          path: `/${command}${query}`,
          method: 'POST',
          agent: this.agent,
          auth: `${user}:${pass}`,
          headers: { 'Content-Type': contentType, 'Content-Length': body.length },
          signal,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) => reject(this.unanswered(command, error)));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = response.statusCode!;
            let answer: { error?: string } | undefined;
            try {
              answer = JSON.parse(text) as { error?: string };
            } catch {
              answer = undefined;
            }
            if (status === 200 && answer) resolve(answer as T);
            else reject(new RcloneRcError(command, status, answer?.error ?? text.trim()));
          });
        },
      );
      // No timeout of ours: a listing or a move takes as long as the remote needs, as with the CLI.
      req.on('error', (error) => reject(signal?.aborted ? signal.reason : this.unanswered(command, error)));
      req.end(body);
    });
  }

  /** SIGTERM, then SIGKILL if it lingers; resolves once it is gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private readonly killOnExit = () => this.child.kill('SIGKILL');

  private unanswered(command: string, error: Error): RcloneRcError {
    return new RcloneRcError(command, null, this.alive ? error.message : this.exitDescription());
  }

  /** rcd prints the address it listens on at NOTICE level, which is rclone's default. */
  private listeningPort(bin: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        clearTimeout(timer);
        this.child.stderr!.off('data', onData);
        this.child.kill('SIGKILL');
        reject(error);
      };
      const onData = () => {
        const port = /Serving remote control on http:\/\/127\.0\.0\.1:(\d+)\//.exec(this.stderr)?.[1];
        if (!port) return;
        clearTimeout(timer);
        this.child.stderr!.off('data', onData);
        this.child.off('close', onClose);
        resolve(Number(port));
      };
      const onClose = () =>
        fail(SETPRIV && this.child.exitCode === SETPRIV_CANNOT_EXECUTE ? new RcloneNotFoundError(bin) : new RcloneError('rcd', this.child.exitCode, this.lastWords()));
      const timer = setTimeout(() => fail(new RcloneError('rcd', null, english('failure.rcdNotListening', { seconds: START_TIMEOUT_MS / 1000 }))), START_TIMEOUT_MS);
      this.child.stderr!.on('data', onData);
      this.child.once('close', onClose);
      this.child.on('error', (error: NodeJS.ErrnoException) =>
        fail(error.code === 'ENOENT' ? new RcloneNotFoundError(bin) : error),
      );
    });
  }
}
