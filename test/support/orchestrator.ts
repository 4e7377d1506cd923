import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { createApp } from '../../src/app.setup';
import type { AppConfig } from '../../src/config/app-config';
import { loadConfig } from '../../src/config/load-config';
import { onPostgres, scratchDatabaseFor } from './postgres';

export const ADMIN = { user: 'admin', password: 'test-password-123' };

/** The CSRF token a page (or the login form) carries in its hidden field, as a browser would post it back. */
export const csrfOf = (html: string): string => /name="_csrf" value="([^"]+)"/.exec(html)![1];

export interface Orchestrator {
  app: NestExpressApplication;
  config: AppConfig;
  dataDir: string;
  /** supertest with the admin's credentials. */
  api: {
    get(path: string): request.Test;
    post(path: string, body?: object): request.Test;
    patch(path: string, body: object): request.Test;
    delete(path: string): request.Test;
  };
  /**
   * A browser-like agent (it keeps cookies) logged in through the login page, as the pages need since
   * they no longer take basic auth. Each call is a new browser with its own session.
   */
  pages(credentials?: { user: string; password: string }): Promise<request.Agent>;
  close(): Promise<void>;
}

/** Logs `agent` in through the login form (GET for the CSRF token, then POST); fails the test unless it is let in. */
export async function logInThroughPage(agent: request.Agent, credentials = ADMIN): Promise<request.Agent> {
  const form = await agent.get('/login').expect(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.text)?.[1];
  if (!csrf) throw new Error('the login page has no CSRF token');
  await agent.post('/login').type('form').send({ _csrf: csrf, username: credentials.user, password: credentials.password, next: '/' }).expect(303).expect('Location', '/');
  return agent;
}

/**
 * Boots the real AppModule through the same createApp() as main.ts, on a fresh data folder
 * (SQLite file, generated secrets, local backups remote) unless `env` says otherwise. With TEST_DATABASE=postgres
 * (and no DATABASE_URL or DATABASE_PATH of the test's own), on a scratch PostgreSQL database of that data folder
 * (a restart on the same folder finds the same data), dropped after the test file.
 */
export async function bootOrchestrator(env: Record<string, string> = {}): Promise<Orchestrator> {
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'orquestador-test-'));
  const scratch = onPostgres && !env.DATABASE_URL && !env.DATABASE_PATH ? await scratchDatabaseFor(dataDir) : null;
  const { config } = loadConfig({ ADMIN_PASSWORD: ADMIN.password, ...(scratch ? { DATABASE_URL: scratch.url } : {}), ...env, DATA_DIR: dataDir }, null);
  const app = await createApp(config, ['error']);
  await app.init();
  const server = app.getHttpServer();
  const auth = (test: request.Test) => test.auth(ADMIN.user, ADMIN.password);
  return {
    app,
    config,
    dataDir,
    api: {
      get: (path) => auth(request(server).get(path)),
      post: (path, body) => (body ? auth(request(server).post(path)).send(body) : auth(request(server).post(path))),
      patch: (path, body) => auth(request(server).patch(path)).send(body),
      delete: (path) => auth(request(server).delete(path)),
    },
    pages: (credentials) => logInThroughPage(request.agent(server), credentials),
    close: () => app.close(),
  };
}

/** A valid app registration; override what the test is about. */
export function appInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'billing',
    url: 'http://127.0.0.1:9',
    token: 'test-token',
    schedule: '0 3 * * *',
    driveFolderId: 'billing',
    retention: 3,
    ...overrides,
  };
}

/** Polls until `check` returns a value (not undefined) or the time is up. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
