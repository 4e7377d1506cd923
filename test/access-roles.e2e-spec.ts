import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_PUBLIC } from '../src/auth/public.decorator';
import { REQUIRED_ROLE, Role, roleAllows, ROLES } from '../src/auth/roles';
import { databaseOf } from './support/database';
import { appInput, bootOrchestrator, csrfOf, Orchestrator } from './support/orchestrator';

/**
 * The least role of every route of the OpenAPI document, as the issue defines the roles: viewer reads
 * (no secrets), operator also runs, verifies, checks and cancels, admin does everything else. A route
 * added to the API without an entry here fails the first test, so its access is decided on purpose.
 */
const LEAST_ROLE: Record<string, Role | 'public'> = {
  'GET /api/health': 'public',
  'GET /api/replicas': 'viewer',
  'GET /api/apps': 'viewer',
  'POST /api/apps': 'admin',
  'GET /api/apps/{id}': 'viewer',
  'PATCH /api/apps/{id}': 'admin',
  'DELETE /api/apps/{id}': 'admin',
  'POST /api/apps/{id}/run': 'operator',
  'GET /api/apps/{id}/runs': 'viewer',
  'POST /api/apps/{id}/check': 'operator',
  'GET /api/apps/{id}/backups': 'viewer',
  'POST /api/apps/{id}/restore': 'admin',
  'POST /api/apps/{id}/verify': 'operator',
  'POST /api/apps/{id}/drill': 'operator',
  'GET /api/apps/{id}/backups/{name}/download': 'admin',
  'GET /api/runs': 'viewer',
  'GET /api/runs/{id}': 'viewer',
  'POST /api/runs/{id}/cancel': 'operator',
  'GET /api/schedule-preview': 'viewer',
  'GET /api/users': 'admin',
  'POST /api/users': 'admin',
  'GET /api/users/{id}': 'admin',
  'PATCH /api/users/{id}': 'admin',
  'DELETE /api/users/{id}': 'admin',
  'GET /api/keys': 'admin',
  'POST /api/keys': 'admin',
  'DELETE /api/keys/{id}': 'admin',
  'GET /api/audit': 'admin',
  'GET /api/destinations': 'viewer',
  'POST /api/destinations': 'admin',
  'GET /api/destinations/{id}': 'viewer',
  'PATCH /api/destinations/{id}': 'admin',
  'DELETE /api/destinations/{id}': 'admin',
  'POST /api/destinations/{id}/check': 'operator',
};

/** Bodies that would change something if the guard let them through. */
const HARMFUL_BODY: Record<string, object> = {
  'POST /api/apps': appInput({ name: 'intruder' }),
  'PATCH /api/apps/{id}': { name: 'renamed' },
  'POST /api/apps/{id}/restore': { backup: 'target-20260101T000000Z.tar.gz', confirm: 'target' },
  'POST /api/users': { username: 'intruder', password: 'intruder-pass', role: 'admin' },
  'PATCH /api/users/{id}': { role: 'admin', password: 'taken-over-123' },
  'POST /api/keys': { name: 'intruder', role: 'admin' },
  'POST /api/destinations': { name: 'intruder', remote: '/tmp/intruder' },
  'PATCH /api/destinations/{id}': { remote: '/tmp/intruder' },
};

const PASSWORD = 'role-test-pass';

describe('roles over every route of the OpenAPI document (issue 16, part 2)', () => {
  let orchestrator: Orchestrator;
  let server: Parameters<typeof request>[0];
  let operations: { key: string; method: string; path: string; declared: unknown }[];
  const ids: Record<string, number> = {};

  /** Everything a refused request could have changed, as the env admin reads it. */
  const state = async () => ({
    apps: (await orchestrator.api.get('/api/apps').expect(200)).body,
    runs: (await orchestrator.api.get('/api/runs').expect(200)).body,
    users: (await orchestrator.api.get('/api/users').expect(200)).body,
    keys: (await orchestrator.api.get('/api/keys').expect(200)).body,
  });

  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
    server = orchestrator.app.getHttpServer();
    ids.app = (await orchestrator.api.post('/api/apps', appInput({ name: 'target' })).expect(201)).body.id;
    for (const role of ROLES) {
      ids[role] = (await orchestrator.api.post('/api/users', { username: `a-${role}`, password: PASSWORD, role }).expect(201)).body.id;
    }
    ids.key = (await orchestrator.api.post('/api/keys', { name: 'existing', role: 'viewer' }).expect(201)).body.id;
    const document = (await orchestrator.api.get('/api/docs-json').expect(200)).body;
    operations = Object.entries(document.paths as Record<string, Record<string, { 'x-required-role'?: string }>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, method, path, declared: operation['x-required-role'] })),
    );
  });
  afterAll(() => orchestrator.close());

  it('knows every route of the document, and the document shows each route\'s role', () => {
    expect(operations.map((operation) => operation.key).sort()).toEqual(Object.keys(LEAST_ROLE).sort());
    for (const { key, declared } of operations) expect(declared ?? 'public', key).toBe(LEAST_ROLE[key]);
  });

  it.each(ROLES)('as %s: 403 on every route above the role, changing nothing; let through everywhere else', async (role) => {
    const before = await state();
    const as = (method: string, path: string) => request(server)[method as 'get'](path).auth(`a-${role}`, PASSWORD);
    for (const { key, method, path } of operations) {
      const needed = LEAST_ROLE[key];
      if (needed === 'public') continue;
      if (!roleAllows(role, needed)) {
        // Real ids and bodies that would do harm: only the guard stands in the way.
        const real = path.replace('{id}', String(path.startsWith('/api/users') ? ids.admin : path.startsWith('/api/keys') ? ids.key : ids.app)).replace('{name}', 'target-20260101T000000Z.tar.gz');
        const response = await as(method, real).send(HARMFUL_BODY[key] ?? {});
        expect(response.status, `${role} ${key}`).toBe(403);
        expect(response.body.message, key).toMatch(new RegExp(`needs the ${needed} role`));
      } else {
        // Ids that name nothing: the guard lets the request in, the route answers 404 (or 400, 200) and changes nothing.
        const harmless = path.replace('{id}', '999999').replace('{name}', 'none.tar.gz');
        const response = await as(method, harmless).send({});
        expect([401, 403], `${role} ${key} answered ${response.status}`).not.toContain(response.status);
      }
    }
    expect(await state()).toEqual(before);
  });

  it('gives every route of the service a role or @Public(), pages included (default deny catches the rest)', () => {
    const missing: string[] = [];
    for (const module of orchestrator.app.get(ModulesContainer).values()) {
      for (const wrapper of module.controllers.values()) {
        const controller = wrapper.metatype as (new () => object) | undefined;
        if (!controller?.prototype) continue;
        for (const name of Object.getOwnPropertyNames(controller.prototype)) {
          const handler = controller.prototype[name as keyof object] as unknown;
          if (typeof handler !== 'function' || Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
          const declared = [handler, controller].some((target) => Reflect.getMetadata(REQUIRED_ROLE, target) || Reflect.getMetadata(IS_PUBLIC, target));
          if (!declared) missing.push(`${controller.name}.${name} (${Reflect.getMetadata(PATH_METADATA, handler)})`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('lets a viewer read the pages but not use the admin\'s or operator\'s buttons', async () => {
    const viewer = await orchestrator.pages({ user: 'a-viewer', password: PASSWORD });
    const dashboard = await viewer.get('/').expect(200);
    expect(dashboard.text).toContain('data-app="target"');
    expect(dashboard.text).not.toContain('href="/apps/new"');
    expect(dashboard.text).not.toContain(`action="/apps/${ids.app}/run"`);
    expect(dashboard.text).not.toContain('href="/users"');
    const csrf = csrfOf(dashboard.text);
    await viewer.post(`/apps/${ids.app}/delete`).type('form').send({ _csrf: csrf }).expect(403);
    await viewer.post(`/apps/${ids.app}/run`).type('form').send({ _csrf: csrf }).expect(403);
    await viewer.get('/users').expect(403);
    await viewer.get(`/apps/${ids.app}/edit`).expect(403);
    expect((await orchestrator.api.get(`/api/apps/${ids.app}/runs`).expect(200)).body).toEqual([]);

    const operator = await orchestrator.pages({ user: 'a-operator', password: PASSWORD });
    const page = await operator.get(`/apps/${ids.app}`).expect(200);
    expect(page.text).toContain(`action="/apps/${ids.app}/check"`);
    expect(page.text).not.toContain(`href="/apps/${ids.app}/edit"`);
    await operator.post(`/apps/${ids.app}/check`).type('form').send({ _csrf: csrfOf(page.text) }).expect(303);
  });
});

describe('users (issue 16, part 2)', () => {
  let orchestrator: Orchestrator;
  let server: Parameters<typeof request>[0];

  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
    server = orchestrator.app.getHttpServer();
  });
  afterAll(() => orchestrator.close());

  it('creates users with a scrypt hash, never returns it, and refuses bad input naming the field', async () => {
    const created = await orchestrator.api.post('/api/users', { username: 'maria', password: 'maria-secret-1', role: 'operator' }).expect(201);
    expect(created.body).toEqual({ id: expect.any(Number), username: 'maria', role: 'operator', createdAt: expect.any(String), updatedAt: expect.any(String) });
    const [row] = await databaseOf(orchestrator).query('SELECT "passwordHash" FROM users WHERE username = ?', ['maria']);
    expect(row.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(JSON.stringify((await orchestrator.api.get('/api/users').expect(200)).body)).not.toContain('scrypt');
    for (const [body, field] of [
      [{ username: 'x y', password: 'long-enough', role: 'viewer' }, 'username'],
      [{ username: 'bob', password: 'short', role: 'viewer' }, 'password'],
      [{ username: 'bob', password: 'long-enough', role: 'root' }, 'role'],
    ] as const) {
      const refused = await orchestrator.api.post('/api/users', body).expect(400);
      expect(refused.body.details.map((detail: { field: string }) => detail.field)).toEqual([field]);
    }
    await orchestrator.api.post('/api/users', { username: 'maria', password: 'another-pass', role: 'viewer' }).expect(409);
    const envAdmin = await orchestrator.api.post('/api/users', { username: 'admin', password: 'another-pass', role: 'viewer' }).expect(409);
    expect(envAdmin.body.message).toMatch(/ADMIN_USER/);
  });

  it('applies a role change at once, and a new password or deletion ends the user\'s sessions', async () => {
    const { id } = (await orchestrator.api.post('/api/users', { username: 'pablo', password: 'pablo-secret-1', role: 'admin' }).expect(201)).body;
    const browser = await orchestrator.pages({ user: 'pablo', password: 'pablo-secret-1' });
    await browser.get('/users').expect(200);
    await orchestrator.api.patch(`/api/users/${id}`, { role: 'viewer' }).expect(200);
    await browser.get('/users').expect(403);
    await browser.get('/').expect(200);
    await orchestrator.api.patch(`/api/users/${id}`, { password: 'pablo-secret-2' }).expect(200);
    await browser.get('/').expect(303);
    await request(server).get('/api/apps').auth('pablo', 'pablo-secret-1').expect(401);
    await request(server).get('/api/apps').auth('pablo', 'pablo-secret-2').expect(200);
    const again = await orchestrator.pages({ user: 'pablo', password: 'pablo-secret-2' });
    await orchestrator.api.delete(`/api/users/${id}`).expect(204);
    await again.get('/').expect(303);
    await request(server).get('/api/apps').auth('pablo', 'pablo-secret-2').expect(401);
    await orchestrator.api.get(`/api/users/${id}`).expect(404);
  });

  it('manages users on the /users page (EN/ES)', async () => {
    const admin = await orchestrator.pages();
    const page = await admin.get('/users').expect(200);
    const csrf = csrfOf(page.text);
    await admin.post('/users').type('form').send({ _csrf: csrf, username: 'lucia', password: 'lucia-secret-1', role: 'viewer' }).expect(303).expect('Location', '/users');
    const listed = await admin.get('/users').expect(200);
    expect(listed.text).toContain('User &quot;lucia&quot; added.');
    expect(listed.text).toMatch(/data-user="lucia"[\s\S]*?<option value="viewer" selected>/);
    await admin.post('/users').type('form').send({ _csrf: csrf, username: 'lucia', password: 'x', role: 'viewer' }).expect(303);
    expect((await admin.get('/users').expect(200)).text).toContain('password: must be longer than or equal to 8 characters');
    const lucia = ((await orchestrator.api.get('/api/users').expect(200)).body as { id: number; username: string }[]).find((user) => user.username === 'lucia')!;
    await admin.post(`/users/${lucia.id}`).type('form').send({ _csrf: csrf, role: 'operator', password: '' }).expect(303);
    expect((await orchestrator.api.get(`/api/users/${lucia.id}`).expect(200)).body.role).toBe('operator');
    await request(server).get('/api/apps').auth('lucia', 'lucia-secret-1').expect(200); // a blank password kept the old one
    await admin.post(`/users/${lucia.id}/delete`).type('form').send({ _csrf: csrf }).expect(303);
    await orchestrator.api.get(`/api/users/${lucia.id}`).expect(404);
    expect((await admin.get('/users?lang=es').expect(200)).text).toContain('Añadir un usuario');
  });
});
