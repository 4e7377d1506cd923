import type { LoggerService, LogLevel } from '@nestjs/common';

/** Run messages start "run <id> of <app>": that is where a line's app and runId come from. */
const RUN_MESSAGE = /^run (\d+) of ([a-z0-9-]+)\b/;

/**
 * LOG_FORMAT=json: one JSON object per line with level, time, context, app, runId and message, for log
 * shippers. Messages are the same as in text mode, which never carry a token or password (except the
 * generated admin password, shown once at first start by design).
 */
export class JsonLogger implements LoggerService {
  constructor(
    private readonly levels: LogLevel[],
    private readonly out: (line: string) => void = (line) => process.stdout.write(line),
  ) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (!this.levels.includes(level)) return;
    // Nest passes the context last; error() may pass a stack before it.
    const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : null;
    const stack = rest.length > 1 && typeof rest[0] === 'string' ? rest[0] : undefined;
    const text = message instanceof Error ? (message.stack ?? message.message) : typeof message === 'string' ? message : JSON.stringify(message);
    const run = RUN_MESSAGE.exec(text);
    const line = { level, time: new Date().toISOString(), context, app: run?.[2] ?? null, runId: run ? Number(run[1]) : null, message: text, ...(stack && { stack }) };
    this.out(`${JSON.stringify(line)}\n`);
  }
}
