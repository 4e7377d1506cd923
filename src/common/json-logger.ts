import type { Params } from 'nestjs-pino';
import { stdTimeFunctions } from 'pino';
import type { LogLevelName } from '../config/environment';
import { currentRun } from './run-context';

/** Nest's level names (LOG_LEVEL, and the `level` field the README documents) and pino's. */
const PINO_LEVEL: Record<LogLevelName, string> = { fatal: 'fatal', error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' };
const NEST_LEVEL: Record<string, LogLevelName> = Object.fromEntries(Object.entries(PINO_LEVEL).map(([nest, pino]) => [pino, nest as LogLevelName]));

/**
 * LOG_FORMAT=json, through nestjs-pino: one object per line, `{level, time, context, app, runId, message}`, where
 * `app` and `runId` come from the run the line was written for (null outside runs). Messages never carry a token or
 * password (except the generated admin password, shown once at first start by design); what pino-http binds from a
 * request is reduced to its id, and the headers that carry credentials are redacted should a request ever be logged.
 */
export function jsonLogging(level: LogLevelName): Params {
  return {
    pinoHttp: {
      level: PINO_LEVEL[level],
      messageKey: 'message',
      base: undefined,
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: NEST_LEVEL[label] ?? label }) },
      mixin: () => ({ ...(currentRun() ?? { app: null, runId: null }) }),
      // No access log (as before: Docker's health probe alone would write one line every 30 s).
      autoLogging: false,
      quietReqLogger: true,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]', 'res.headers["set-cookie"]', '*.token', '*.password'],
        censor: '[redacted]',
      },
    },
  };
}
