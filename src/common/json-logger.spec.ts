import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pino, { LoggerOptions } from 'pino';
import { describe, expect, it } from 'vitest';
import type { LogLevelName } from '../config/environment';
import { jsonLogging } from './json-logger';
import { inRun } from './run-context';

/** The pino logger LOG_FORMAT=json configures, writing its lines into an array. */
function jsonLogger(level: LogLevelName = 'log') {
  const lines: Record<string, unknown>[] = [];
  const out = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(JSON.parse(chunk.toString())), done()) });
  const logger = pino(jsonLogging(level).pinoHttp as LoggerOptions, out);
  return { logger, lines };
}

describe('JSON logs (nestjs-pino)', () => {
  it('gives every line of a run its app and runId, from the run itself, across awaits and interleaved runs', async () => {
    const { logger, lines } = jsonLogger();
    const work = (name: string) => async () => {
      await sleep(5);
      logger.info({ context: 'BackupJob' }, `something ${name} said`); // no "run N of app" in the text
      await sleep(5);
      logger.warn({ context: 'RcloneCli' }, 'rclone is slow');
    };
    await Promise.all([inRun({ appName: 'notes', id: 7 }, work('notes')), inRun({ appName: 'billing', id: 8 }, work('billing'))]);
    expect(lines).toHaveLength(4);
    expect(lines).toContainEqual({ level: 'log', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), app: 'notes', runId: 7, context: 'BackupJob', message: 'something notes said' });
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', app: 'billing', runId: 8, message: 'rclone is slow' }));
    expect(lines.filter((line) => line.runId === 7)).toHaveLength(2);
  });

  it('outside a run, app and runId are null: they are never read out of the message', () => {
    const { logger, lines } = jsonLogger();
    logger.info({ context: 'Bootstrap' }, 'run 99 of fake started');
    expect(lines).toEqual([expect.objectContaining({ app: null, runId: null, message: 'run 99 of fake started' })]);
  });

  it('keeps LOG_LEVEL, with Nest\'s level names', () => {
    const { logger, lines } = jsonLogger('warn');
    logger.info('hidden');
    logger.debug('hidden');
    logger.warn('shown');
    logger.error('shown too');
    expect(lines.map((line) => line.level)).toEqual(['warn', 'error']);
    const verbose = jsonLogger('verbose');
    verbose.logger.trace('the most detailed');
    expect(verbose.lines).toEqual([expect.objectContaining({ level: 'verbose' })]);
  });

  it('never writes credentials, should a request or a token ever be logged', () => {
    const { logger, lines } = jsonLogger();
    logger.info({ req: { headers: { authorization: 'Basic YWRtaW46c2VjcmV0', cookie: 'lang=es' } }, app: { token: 'app-token-1' } }, 'a request');
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/YWRtaW46c2VjcmV0|lang=es|app-token-1/);
    expect(text).toContain('[redacted]');
  });
});
