import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { waitForRunEnd } from './support/backups';
import { databaseOf } from './support/database';
import { ADMIN, bootOrchestrator, csrfOf, Orchestrator, waitFor } from './support/orchestrator';

const TOKEN = 'audit-app-token-s3cr3t';
const NEW_TOKEN = 'audit-new-token-s3cr3t';
const USER_PASSWORD = 'audit-user-pass-s3cr3t';

interface Entry {
  id: number;
  at: string;
  actor: string;
  actorKind: string;
  address: string | null;
  action: string;
  target: string | null;
  details: Record<string, unknown> | null;
  outcome: string;
  status: number | null;
}

describe('audit log (issue 16, part 5)', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let server: Parameters<typeof request>[0];
  const secrets: string[] = [TOKEN, NEW_TOKEN, USER_PASSWORD, 'wrong-password-s3cr3t'];

  const entries = async (query = ''): Promise<Entry[]> => (await orchestrator.api.get(`/api/audit?limit=500${query}`).expect(200)).body;
  const latest = async (action: string): Promise<Entry> => (await entries(`&action=${action}`))[0];
  const newestId = async (): Promise<number> => (await entries())[0].id;
  // A route that answers itself (@Res: pages' redirects, downloads) has answered before the interceptor writes its
  // entry; on PostgreSQL the write may land a moment after the answer: wait for an entry newer than `newest`.
  const recordedAfter = (action: string, newest: number): Promise<Entry> =>
    waitFor(async () => {
      const entry = await latest(action);
      return entry?.id > newest ? entry : undefined;
    });

  beforeAll(async () => {
    contract = await startContractApp({ token: TOKEN });
    contract.setMode({ size: 3000 });
    orchestrator = await bootOrchestrator();
    server = orchestrator.app.getHttpServer();
  });
  afterAll(async () => {
    await orchestrator.close();
    await contract.close();
  });

  it('records who changed an app, from where, the fields sent with the token redacted, and the outcome', async () => {
    const app = (await orchestrator.api.post('/api/apps', { name: 'ledger', url: contract.url, token: TOKEN, schedule: '0 3 * * *', driveFolderId: 'ledger', retention: 3 }).expect(201)).body;
    const created = await latest('app.create');
    expect(created).toMatchObject({ actor: ADMIN.user, actorKind: 'env', action: 'app.create', target: `app:${app.id}`, outcome: 'success', status: 201 });
    expect(created.address).toMatch(/127\.0\.0\.1/);
    expect(Date.now() - Date.parse(created.at)).toBeLessThan(60_000);
    expect(created.details).toMatchObject({ fields: { name: 'ledger', token: '[redacted]', retention: 3 } });

    await orchestrator.api.patch(`/api/apps/${app.id}`, { token: NEW_TOKEN, retention: 5 }).expect(200);
    expect(await latest('app.update')).toMatchObject({ target: `app:${app.id}`, details: { fields: { token: '[redacted]', retention: 5 } }, outcome: 'success' });
    await orchestrator.api.patch(`/api/apps/${app.id}`, { token: TOKEN }).expect(200);

    await orchestrator.api.post('/api/apps', { name: 'ledger', url: contract.url, token: TOKEN, schedule: '0 3 * * *', driveFolderId: 'x', retention: 3 }).expect(409);
    expect(await latest('app.create')).toMatchObject({ outcome: 'failure', status: 409, target: 'app', details: { error: expect.stringContaining('already exists') } });
  });

  it('records runs, checks, verifications, restores and downloads, by user, key or schedule', async () => {
    const app = (await orchestrator.api.get('/api/apps').expect(200)).body.find((entry: { name: string }) => entry.name === 'ledger');
    const { key } = (await orchestrator.api.post('/api/keys', { name: 'deployer', role: 'operator' }).expect(201)).body;
    secrets.push(key);
    const run = await waitForRunEnd(orchestrator, (await request(server).post(`/api/apps/${app.id}/run`).set('Authorization', `Bearer ${key}`).expect(202)).body.runId);
    expect(run.status).toBe('succeeded');
    expect(await latest('run.request')).toMatchObject({ actor: 'deployer', actorKind: 'key', target: `app:${app.id}`, outcome: 'success', status: 202 });
    expect(await latest('key.create')).toMatchObject({ actor: ADMIN.user, details: { fields: { name: 'deployer', role: 'operator' } } });
    expect(JSON.stringify(await latest('key.create'))).not.toContain(key);

    await request(server).post(`/api/apps/${app.id}/check`).set('Authorization', `Bearer ${key}`).expect(200);
    expect(await latest('check.request')).toMatchObject({ actor: 'deployer', outcome: 'success' });
    const verify = await request(server).post(`/api/apps/${app.id}/verify`).set('Authorization', `Bearer ${key}`).send({ backup: run.backupName }).expect(202);
    await waitForRunEnd(orchestrator, verify.body.runId);
    expect(await latest('verify.request')).toMatchObject({ actor: 'deployer', details: { fields: { backup: run.backupName } } });

    const beforeDownload = await newestId();
    await orchestrator.api.get(`/api/apps/${app.id}/backups/${run.backupName}/download`).expect(200);
    expect(await recordedAfter('backup.download', beforeDownload)).toMatchObject({ actor: ADMIN.user, target: `app:${app.id}`, details: { name: run.backupName }, outcome: 'success', status: 200 });

    // An operator may not restore: the attempt is recorded as denied, and nothing starts.
    await request(server).post(`/api/apps/${app.id}/restore`).set('Authorization', `Bearer ${key}`).send({ backup: run.backupName }).expect(403);
    expect(await latest('restore.request')).toMatchObject({ actor: 'deployer', outcome: 'denied', status: 403 });
    const restore = await orchestrator.api.post(`/api/apps/${app.id}/restore`, { backup: run.backupName }).expect(202);
    await waitForRunEnd(orchestrator, restore.body.runId);
    expect(await latest('restore.request')).toMatchObject({ actor: ADMIN.user, outcome: 'success', details: { fields: { backup: run.backupName } } });

    const scheduled = (await orchestrator.api.post('/api/apps', { name: 'ticking', url: contract.url, token: TOKEN, schedule: '*/2 * * * * *', driveFolderId: 't', retention: 1 }).expect(201)).body;
    const fired = await waitFor(async () => (await entries('&actor=schedule')).find((entry) => entry.target === `app:${scheduled.id}`), 10_000);
    expect(fired).toMatchObject({ actorKind: 'schedule', action: 'run.request', outcome: 'success', address: null });
    await orchestrator.api.patch(`/api/apps/${scheduled.id}`, { enabled: false }).expect(200);
  });

  it('records users, keys, logins (success and failure) and log out, never a password', async () => {
    const user = (await orchestrator.api.post('/api/users', { username: 'olga', password: USER_PASSWORD, role: 'viewer' }).expect(201)).body;
    expect(await latest('user.create')).toMatchObject({ target: `user:${user.id}`, details: { fields: { username: 'olga', password: '[redacted]', role: 'viewer' } } });
    await orchestrator.api.patch(`/api/users/${user.id}`, { role: 'operator' }).expect(200);
    expect(await latest('user.update')).toMatchObject({ target: `user:${user.id}`, details: { fields: { role: 'operator' } } });

    const browser = request.agent(server);
    const csrf = csrfOf((await browser.get('/login').expect(200)).text);
    await browser.post('/login').type('form').send({ _csrf: csrf, username: 'olga', password: 'wrong-password-s3cr3t' }).expect(401);
    expect(await latest('login')).toMatchObject({ actor: 'olga', actorKind: 'anonymous', outcome: 'failure', status: 401, details: { method: 'password' } });
    await browser.post('/login').type('form').send({ _csrf: csrf, username: 'olga', password: USER_PASSWORD }).expect(303);
    expect(await latest('login')).toMatchObject({ actor: 'olga', actorKind: 'user', outcome: 'success' });
    await request(server).get('/api/apps').auth('olga', 'wrong-password-s3cr3t').expect(401);
    expect(await latest('login')).toMatchObject({ actor: 'olga', outcome: 'failure', details: { method: 'basic' } });
    const pageCsrf = csrfOf((await browser.get('/').expect(200)).text);
    const beforeLogout = await newestId();
    await browser.post('/logout').type('form').send({ _csrf: pageCsrf }).expect(303);
    expect(await recordedAfter('logout', beforeLogout)).toMatchObject({ actor: 'olga', outcome: 'success' });

    const { id: keyId, key } = (await orchestrator.api.post('/api/keys', { name: 'temporary', role: 'viewer' }).expect(201)).body;
    await orchestrator.api.delete(`/api/keys/${keyId}`).expect(204);
    expect(await latest('key.revoke')).toMatchObject({ target: `key:${keyId}`, outcome: 'success' });
    await request(server).get('/api/apps').set('Authorization', `Bearer ${key}`).expect(401);
    const refusedKey = await latest('login');
    expect(refusedKey).toMatchObject({ actor: key.slice(0, 11), outcome: 'failure', details: { method: 'key', error: 'unknown or revoked API key' } });
    secrets.push(key);

    await orchestrator.api.delete(`/api/users/${user.id}`).expect(204);
    expect(await latest('user.delete')).toMatchObject({ target: `user:${user.id}`, outcome: 'success' });
  });

  it('records page actions too, with the CSRF field left out and refused forms as failures', async () => {
    const admin = await orchestrator.pages();
    const page = await admin.get('/users').expect(200);
    const csrf = csrfOf(page.text);
    let newest = await newestId();
    await admin.post('/users').type('form').send({ _csrf: csrf, username: 'bad name', password: USER_PASSWORD, role: 'viewer' }).expect(303);
    const refused = await recordedAfter('user.create', newest);
    expect(refused).toMatchObject({ outcome: 'failure', details: { fields: { username: 'bad name', password: '[redacted]' }, error: expect.stringContaining('username') } });
    expect(refused.details!.fields).not.toHaveProperty('_csrf');
    const app = (await orchestrator.api.get('/api/apps').expect(200)).body.find((entry: { name: string }) => entry.name === 'ticking');
    newest = await newestId();
    await admin.post(`/apps/${app.id}/delete`).type('form').send({ _csrf: csrf }).expect(303);
    expect(await recordedAfter('app.delete', newest)).toMatchObject({ actor: ADMIN.user, target: `app:${app.id}`, outcome: 'success', status: 303 });
  });

  it('never stores a secret, in the API answer or in the table', async () => {
    const everything = JSON.stringify(await entries());
    const table = JSON.stringify(await databaseOf(orchestrator).query('SELECT * FROM audit_log'));
    for (const secret of secrets) {
      expect(everything).not.toContain(secret);
      expect(table).not.toContain(secret);
    }
  });

  it('filters by actor and action, pages with before, and is for admins only (API and page)', async () => {
    const all = await entries();
    expect(all.map((entry) => entry.id)).toEqual([...all.map((entry) => entry.id)].sort((a, b) => b - a));
    expect((await entries('&actor=deployer')).every((entry) => entry.actor === 'deployer')).toBe(true);
    expect((await entries('&action=login')).every((entry) => entry.action === 'login')).toBe(true);
    const [first, second] = (await orchestrator.api.get('/api/audit?limit=2').expect(200)).body as Entry[];
    expect((await orchestrator.api.get(`/api/audit?limit=1&before=${first.id}`).expect(200)).body).toEqual([second]);
    const bad = await orchestrator.api.get('/api/audit?limit=0').expect(400);
    expect(bad.body.message).toMatch(/limit/);

    await orchestrator.api.post('/api/users', { username: 'oper', password: USER_PASSWORD, role: 'operator' }).expect(201);
    await request(server).get('/api/audit').auth('oper', USER_PASSWORD).expect(403);
    const operator = await orchestrator.pages({ user: 'oper', password: USER_PASSWORD });
    await operator.get('/audit').expect(403);

    const admin = await orchestrator.pages();
    const filtered = await admin.get('/audit?action=app.create&lang=es').expect(200);
    expect(filtered.text).toContain('Registro de auditoría');
    const actions = [...filtered.text.matchAll(/data-action="([^"]+)"/g)].map((match) => match[1]);
    expect(actions.length).toBeGreaterThan(0);
    expect(new Set(actions)).toEqual(new Set(['app.create']));
  });
});

describe('audit retention', () => {
  it('prunes entries older than AUDIT_RETENTION_DAYS at boot', async () => {
    const first = await bootOrchestrator();
    const db = databaseOf(first);
    const insert = `INSERT INTO audit_log ("at", "actor", "actorKind", "action", "outcome") VALUES (?, 'old-timer', 'user', 'app.update', 'success')`;
    const day = 24 * 3600 * 1000;
    await db.query(insert, [db.ago(40 * day)]);
    await db.query(insert, [db.ago(10 * day)]);
    await first.close();
    const second = await bootOrchestrator({ DATA_DIR: first.dataDir, AUDIT_RETENTION_DAYS: '30' });
    try {
      const kept = await waitFor(async () => {
        const rows = (await second.api.get('/api/audit?actor=old-timer').expect(200)).body as Entry[];
        return rows.length === 1 ? rows : undefined;
      });
      expect(Date.now() - Date.parse(kept[0].at)).toBeLessThan(11 * 24 * 3600 * 1000);
    } finally {
      await second.close();
    }
    await expect(bootOrchestrator({ AUDIT_RETENTION_DAYS: '0' })).rejects.toThrow(/AUDIT_RETENTION_DAYS/);
  });
});
