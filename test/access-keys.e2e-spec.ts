import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { waitForRunEnd } from './support/backups';
import { databaseOf } from './support/database';
import { bootOrchestrator, csrfOf, Orchestrator } from './support/orchestrator';

const TOKEN = 'keys-token';

describe('API keys (issue 16, part 3)', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let server: Parameters<typeof request>[0];
  let appId: number;
  const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

  beforeAll(async () => {
    contract = await startContractApp({ token: TOKEN });
    contract.setMode({ size: 4000 });
    orchestrator = await bootOrchestrator();
    server = orchestrator.app.getHttpServer();
    appId = (await orchestrator.api.post('/api/apps', { name: 'shop', url: contract.url, token: TOKEN, schedule: '0 3 * * *', driveFolderId: 'shop', retention: 3 }).expect(201)).body.id;
  });
  afterAll(async () => {
    await orchestrator.close();
    await contract.close();
  });

  it('shows a new key once, stores only its hash, and lists name, role, prefix and dates', async () => {
    const created = await orchestrator.api.post('/api/keys', { name: 'ci-deploy', role: 'operator' }).expect(201);
    const { key, prefix, id } = created.body;
    expect(key).toMatch(/^ao_[0-9a-f]{8}_[\w-]{43}$/);
    expect(key.startsWith(`${prefix}_`)).toBe(true);
    expect(created.body).toMatchObject({ name: 'ci-deploy', role: 'operator', lastUsedAt: null, expiresAt: null });
    const listed = (await orchestrator.api.get('/api/keys').expect(200)).body;
    expect(listed).toEqual([{ id, name: 'ci-deploy', role: 'operator', prefix, createdAt: expect.any(String), lastUsedAt: null, expiresAt: null }]);
    const rows = await databaseOf(orchestrator).query('SELECT * FROM api_keys');
    expect(JSON.stringify(rows)).not.toContain(key.slice(prefix.length + 1));
    await orchestrator.api.post('/api/keys', { name: 'ci-deploy', role: 'viewer' }).expect(409);
    await orchestrator.api.delete(`/api/keys/${id}`).expect(204);
  });

  it('backs up before deploy with an operator key (the README call), and refuses what an operator may not do', async () => {
    const { key } = (await orchestrator.api.post('/api/keys', { name: 'pipeline', role: 'operator' }).expect(201)).body;
    const started = await request(server).post(`/api/apps/${appId}/run`).set(bearer(key)).expect(202);
    const run = await waitForRunEnd(orchestrator, started.body.runId);
    expect(run.status).toBe('succeeded');
    expect((await request(server).get(`/api/runs/${started.body.runId}`).set(bearer(key)).expect(200)).body.status).toBe('succeeded');
    const refused = await request(server).delete(`/api/apps/${appId}`).set(bearer(key)).expect(403);
    expect(refused.body.message).toMatch(/needs the admin role; pipeline is operator/);
    await request(server).post('/api/keys').set(bearer(key)).send({ name: 'escalate', role: 'admin' }).expect(403);
    // A key opens the API, never the pages.
    await request(server).get('/').set(bearer(key)).expect(303);
    const listed = (await orchestrator.api.get('/api/keys').expect(200)).body.find((entry: { name: string }) => entry.name === 'pipeline');
    expect(Date.parse(listed.lastUsedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('refuses a revoked key at once, and an expired one', async () => {
    const { key, id } = (await orchestrator.api.post('/api/keys', { name: 'short-lived', role: 'viewer' }).expect(201)).body;
    await request(server).get('/api/apps').set(bearer(key)).expect(200);
    await orchestrator.api.delete(`/api/keys/${id}`).expect(204);
    const revoked = await request(server).get('/api/apps').set(bearer(key)).expect(401);
    expect(revoked.body.message).toBe('unknown or revoked API key');
    await orchestrator.api.delete(`/api/keys/${id}`).expect(404);

    const soon = new Date(Date.now() + 3600_000).toISOString();
    const expiring = (await orchestrator.api.post('/api/keys', { name: 'expiring', role: 'viewer', expiresAt: soon }).expect(201)).body;
    expect(expiring.expiresAt).toBe(soon);
    await request(server).get('/api/apps').set(bearer(expiring.key)).expect(200);
    const db = databaseOf(orchestrator);
    await db.query('UPDATE api_keys SET "expiresAt" = ? WHERE id = ?', [db.ago(1000), expiring.id]);
    const expired = await request(server).get('/api/apps').set(bearer(expiring.key)).expect(401);
    expect(expired.body.message).toBe('this API key has expired');
    // A key that was never issued, or a real prefix with another secret.
    await request(server).get('/api/apps').set(bearer(`${expiring.prefix}_${'A'.repeat(43)}`)).expect(401);
  });

  it('refuses bad input naming the field', async () => {
    for (const [body, field] of [
      [{ name: '', role: 'viewer' }, 'name'],
      [{ name: 'x', role: 'root' }, 'role'],
      [{ name: 'x', role: 'viewer', expiresAt: '2020-01-01T00:00:00Z' }, 'expiresAt'],
      [{ name: 'x', role: 'viewer', expiresAt: 'tomorrow' }, 'expiresAt'],
    ] as const) {
      const refused = await orchestrator.api.post('/api/keys', body).expect(400);
      expect(refused.body.details.map((detail: { field: string }) => detail.field)).toEqual([field]);
    }
  });

  it('manages keys on the /keys page, showing the key once', async () => {
    const admin = await orchestrator.pages();
    const page = await admin.get('/keys').expect(200);
    const csrf = csrfOf(page.text);
    const created = await admin.post('/keys').type('form').send({ _csrf: csrf, name: 'from-page', role: 'viewer', expiresAt: '' }).expect(201);
    const key = /data-key>(ao_[^<]+)</.exec(created.text)![1];
    expect(created.headers['cache-control']).toBe('no-store');
    await request(server).get('/api/apps').set(bearer(key)).expect(200);
    const again = await admin.get('/keys').expect(200);
    expect(again.text).toContain('data-key-row="from-page"');
    expect(again.text).not.toContain(key);
    const id = (await orchestrator.api.get('/api/keys').expect(200)).body.find((entry: { name: string }) => entry.name === 'from-page').id;
    await admin.post(`/keys/${id}/delete`).type('form').send({ _csrf: csrf }).expect(303);
    await request(server).get('/api/apps').set(bearer(key)).expect(401);
    expect((await admin.get('/keys?lang=es').expect(200)).text).toContain('Claves de API');
  });
});
