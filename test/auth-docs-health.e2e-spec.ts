import SwaggerParser from '@apidevtools/swagger-parser';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, bootOrchestrator, Orchestrator } from './support/orchestrator';

describe('basic auth, OpenAPI docs and health', () => {
  let orchestrator: Orchestrator;
  let server: Parameters<typeof request>[0];

  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
    server = orchestrator.app.getHttpServer();
  });
  afterAll(() => orchestrator.close());

  it.each(['/api/apps', '/api/apps/1', '/api/runs/1', '/api/docs', '/api/docs-json'])('%s needs credentials', async (path) => {
    const response = await request(server).get(path).expect(401);
    expect(response.headers['www-authenticate']).toMatch(/^Basic realm="app-orquestador"/);
    expect(response.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    await request(server).get(path).auth(ADMIN.user, 'wrong-password').expect(401);
  });

  it('accepts the admin credentials and refuses a wrong user with the right password', async () => {
    await request(server).get('/api/apps').auth(ADMIN.user, ADMIN.password).expect(200);
    await request(server).get('/api/apps').auth('root', ADMIN.password).expect(401);
  });

  it('serves the health status without credentials, and the checks to the admin', async () => {
    expect((await request(server).get('/api/health').expect(200)).body).toEqual({ status: 'ok' });
    const response = await request(server).get('/api/health').auth(ADMIN.user, ADMIN.password).expect(200);
    expect(response.body).toEqual({
      status: 'ok',
      checks: {
        database: { status: 'ok' },
        rclone: { status: 'ok', version: expect.stringMatching(/^rclone v1\./) },
        scheduler: { status: 'ok', jobs: 0 },
        backups: { status: 'ok', total: 0, stale: 0, partial: 0, apps: [], more: 0 },
        verification: { status: 'ok', failed: 0 },
        zones: { status: 'ok' },
      },
    });
  });

  it('serves a valid OpenAPI 3 document that declares basic auth, API keys and the session cookie, and documents every route', async () => {
    const { body } = await request(server).get('/api/docs-json').auth(ADMIN.user, ADMIN.password).expect(200);
    await SwaggerParser.validate(structuredClone(body));
    expect(body.openapi).toMatch(/^3\./);
    expect(body.components.securitySchemes).toMatchObject({
      basic: { type: 'http', scheme: 'basic' },
      bearer: { type: 'http', scheme: 'bearer' },
      session: { type: 'apiKey', in: 'cookie', name: 'session' },
    });
    expect(body.security).toEqual([{ basic: [] }, { bearer: [] }, { session: [] }]);
    expect(Object.keys(body.paths).sort()).toEqual([
      '/api/apps', '/api/apps/{id}', '/api/apps/{id}/backups', '/api/apps/{id}/backups/{name}/download', '/api/apps/{id}/check', '/api/apps/{id}/drill',
      '/api/apps/{id}/restore', '/api/apps/{id}/run', '/api/apps/{id}/runs', '/api/apps/{id}/verify', '/api/audit', '/api/destinations',
      '/api/destinations/{id}', '/api/destinations/{id}/check', '/api/health', '/api/keys', '/api/keys/{id}', '/api/replicas', '/api/runs', '/api/runs/{id}',
      '/api/runs/{id}/cancel', '/api/schedule-preview', '/api/users', '/api/users/{id}',
    ]);
    expect(Object.keys(body.paths['/api/runs/{id}/cancel'].post.responses)).toEqual(expect.arrayContaining(['202', '404', '409']));
    expect(body.components.schemas.RunResponse.properties.status.enum).toContain('cancelled');
    expect(body.paths['/api/runs'].get.parameters.find((parameter: { name: string }) => parameter.name === 'status').schema.enum).toContain('cancelled');
    expect(Object.keys(body.paths['/api/apps'].post.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '409']));
    expect(body.components.schemas.CreateAppDto.properties.token.writeOnly).toBe(true);
    expect(JSON.stringify(body.components.schemas.AppResponse)).not.toContain('"token"');
    const ui = await request(server).get('/api/docs/').auth(ADMIN.user, ADMIN.password).expect(200);
    expect(ui.text).toContain('swagger-ui');
  });
});

describe('login throttling', () => {
  it('answers 429 after repeated failures from one client, while the right password still works elsewhere', async () => {
    const orchestrator = await bootOrchestrator();
    try {
      const server = orchestrator.app.getHttpServer();
      for (let attempt = 0; attempt < 10; attempt++) {
        await request(server).get('/api/apps').auth(ADMIN.user, `guess-${attempt}`).expect(401);
      }
      const throttled = await request(server).get('/api/apps').auth(ADMIN.user, ADMIN.password).expect(429);
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
      expect(throttled.body.message).toMatch(/too many failed logins; try again in \d+ s/);
      await request(server).get('/api/docs-json').auth(ADMIN.user, ADMIN.password).expect(429);
      await request(server).get('/api/health').expect(200);
    } finally {
      await orchestrator.close();
    }
  });
});

describe('health without a database', () => {
  it('answers 503 with the database problem', async () => {
    const orchestrator = await bootOrchestrator();
    try {
      await orchestrator.app.get(DataSource).destroy();
      expect((await request(orchestrator.app.getHttpServer()).get('/api/health').expect(503)).body).toEqual({ status: 'error' });
      const response = await orchestrator.api.get('/api/health').expect(503);
      expect(response.body.status).toBe('error');
      expect(response.body.checks.database).toEqual({ status: 'error', error: expect.any(String) });
      expect(response.body.checks.rclone.status).toBe('ok');
    } finally {
      await orchestrator.close().catch(() => undefined);
    }
  });
});
