import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { databaseOf } from './support/database';
import { appInput, bootOrchestrator, Orchestrator } from './support/orchestrator';
import { onPostgres } from './support/postgres';

describe('app registry API', () => {
  let orchestrator: Orchestrator;

  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
  });
  afterAll(() => orchestrator.close());

  it('creates, reads, updates and deletes an app without ever returning its token', async () => {
    const { api } = orchestrator;
    const created = await api.post('/api/apps', appInput({ name: 'crud', token: 'very-secret-token' })).expect(201);
    expect(created.body).toMatchObject({ name: 'crud', url: 'http://127.0.0.1:9', schedule: '0 3 * * *', driveFolderId: 'billing',
      retention: 3, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0, verifySchedule: 'default', enabled: true, hasToken: true, scheduleError: null });
    expect(Object.keys(created.body).sort()).toEqual(
      ['createdAt', 'destinations', 'drillSchedule', 'drillUrl', 'driveFolderId', 'enabled', 'encryption', 'hasDrillToken', 'hasEncryptionPassphrase', 'hasToken', 'id', 'keepDaily', 'keepMonthly', 'keepWeekly',
        'keepYearly', 'lastRun', 'lastSuccessAt', 'name', 'nextRunAt', 'pingUrl', 'retention', 'schedule', 'scheduleError', 'stale', 'timezone',
        'updatedAt', 'url', 'verifySchedule', 'zone'],
    );
    const id = created.body.id as number;

    const listed = await api.get('/api/apps').expect(200);
    expect(listed.body.map((app: { id: number }) => app.id)).toContain(id);
    expect(JSON.stringify(listed.body)).not.toContain('very-secret-token');

    const patched = await api.patch(`/api/apps/${id}`, { retention: 10, enabled: false }).expect(200);
    expect(patched.body).toMatchObject({ id, retention: 10, enabled: false, hasToken: true });
    expect(new Date(patched.body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(created.body.updatedAt).getTime());

    await api.get(`/api/apps/${id}`).expect(200);
    await api.delete(`/api/apps/${id}`).expect(204);
    await api.get(`/api/apps/${id}`).expect(404);
    await api.delete(`/api/apps/${id}`).expect(404);
    await api.patch(`/api/apps/${id}`, { retention: 2 }).expect(404);
  });

  it('answers 404 for ids that are not positive integers', async () => {
    const response = await orchestrator.api.get('/api/apps/abc').expect(404);
    expect(response.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'no app with id abc' });
  });

  it('stores the token encrypted: the database does not contain it', async () => {
    const token = 'plain-token-that-must-not-leak-4242';
    await orchestrator.api.post('/api/apps', appInput({ name: 'secretive', token })).expect(201);
    // SQLite: the file and its WAL byte for byte; PostgreSQL (TEST_DATABASE=postgres): every column of every app row.
    const stored = onPostgres
      ? JSON.stringify(await databaseOf(orchestrator).query('SELECT * FROM apps'))
      : Buffer.concat([readFileSync(orchestrator.config.databasePath), readFileSync(`${orchestrator.config.databasePath}-wal`, { flag: 'a+' })]);
    expect(stored.includes(token)).toBe(false);
    expect(stored.includes('secretive')).toBe(true); // the check looks at the right place
  });

  it('keeps the stored token when a PATCH omits it, and replaces it when given', async () => {
    const contract = await startContractApp({ token: 'original-token' });
    try {
      const { body: app } = await orchestrator.api
        .post('/api/apps', appInput({ name: 'token-keeper', url: contract.url, token: 'original-token' }))
        .expect(201);
      await orchestrator.api.patch(`/api/apps/${app.id}`, { schedule: '*/5 * * * *' }).expect(200);
      expect((await orchestrator.api.post(`/api/apps/${app.id}/check`).expect(200)).body).toMatchObject({ ok: true });

      await orchestrator.api.patch(`/api/apps/${app.id}`, { token: 'another-token' }).expect(200);
      const check = await orchestrator.api.post(`/api/apps/${app.id}/check`).expect(200);
      expect(check.body).toMatchObject({ ok: false, error: expect.stringContaining('401: check the token') });
    } finally {
      await contract.close();
    }
  });

  it('refuses a duplicate name with 409, on create and on rename', async () => {
    await orchestrator.api.post('/api/apps', appInput({ name: 'dup' })).expect(201);
    const other = await orchestrator.api.post('/api/apps', appInput({ name: 'dup-2' })).expect(201);
    const response = await orchestrator.api.post('/api/apps', appInput({ name: 'dup' })).expect(409);
    expect(response.body.message).toBe('an app named "dup" already exists');
    await orchestrator.api.patch(`/api/apps/${other.body.id}`, { name: 'dup' }).expect(409);
  });

  const invalid: [string, unknown, string][] = [
    ['name', 'Billing', 'lowercase'],
    ['name', '-billing', 'starting with a letter or digit'],
    ['name', 'a'.repeat(64), 'lowercase'],
    ['url', 'ftp://billing:21', 'http:// or https://'],
    ['url', 'billing:8000', 'http:// or https://'],
    ['token', '', 'should not be empty'],
    ['schedule', '* * *', 'must have 5 fields'],
    ['schedule', '61 * * * *', 'not a valid cron expression'],
    ['schedule', '* * * * * * *', 'must have 5 fields'],
    ['driveFolderId', '', 'must not be empty'],
    ['driveFolderId', '/abs', 'must not start with "/"'],
    ['driveFolderId', 'a/../b', 'must not contain ".."'],
    ['driveFolderId', 'a\u0007b', 'control characters'],
    ['retention', 0, 'must not be less than 1'],
    ['retention', 1001, 'must not be greater than 1000'],
    ['retention', 2.5, 'must be an integer'],
    ['retention', '5', 'must be an integer'],
    ['enabled', 'yes', 'must be a boolean'],
  ];
  it.each(invalid)('refuses %s = %j with 400 naming the field and why', async (field, value, reason) => {
    const response = await orchestrator.api.post('/api/apps', appInput({ name: 'invalid', [field]: value })).expect(400);
    expect(response.body.message).toContain(`${field}: `);
    expect(response.body.message).toContain(reason);
    expect(response.body.details).toContainEqual({ field, reasons: [expect.stringContaining(reason)] });
  });

  it('names every bad field at once, and refuses missing fields', async () => {
    const response = await orchestrator.api.post('/api/apps', { name: 'x' }).expect(400);
    const fields = response.body.details.map((detail: { field: string }) => detail.field).sort();
    expect(fields).toEqual(['driveFolderId', 'retention', 'schedule', 'token', 'url']);
  });

  it('accepts 6-field cron expressions with seconds', async () => {
    await orchestrator.api.post('/api/apps', appInput({ name: 'seconds', schedule: '*/10 * * * * *' })).expect(201);
  });

  it('refuses unknown fields, malformed JSON, non-JSON writes and bodies over 100 KB', async () => {
    const server = orchestrator.app.getHttpServer();
    const auth = ['admin', 'test-password-123'] as const;
    const unknown = await orchestrator.api.post('/api/apps', appInput({ name: 'unknown', owner: 'me' })).expect(400);
    expect(unknown.body.message).toBe('owner: is not an accepted field');

    const malformed = await request(server).post('/api/apps').auth(...auth).set('Content-Type', 'application/json').send('{"name":').expect(400);
    expect(malformed.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });

    const form = await request(server).post('/api/apps').auth(...auth).type('form').send({ name: 'x' }).expect(415);
    expect(form.body).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type' });

    const huge = await orchestrator.api.post('/api/apps', appInput({ name: 'huge', token: 'x'.repeat(110_000) })).expect(413);
    expect(huge.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
  });
});
