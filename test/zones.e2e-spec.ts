import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenCipher } from '../src/apps/token-cipher';
import { loadConfig } from '../src/config/load-config';
import { MIGRATIONS } from '../src/database/database.options';
import { AppZone1765600000000 } from '../src/database/migrations/1765600000000-app-zone';
import { startContractApp } from './support/contract-app.mjs';
import { ADMIN, appInput, bootOrchestrator, csrfOf, Orchestrator, waitFor } from './support/orchestrator';

/**
 * Zones in embedded mode (one process, SQLite): an app's `zone` through the API and the form, and an app of a zone
 * this process does not serve (REPLICA_ZONE), whose runs fail at once instead of reaching a network it is not on.
 * Cluster mode (replicas of several zones on PostgreSQL) is in cluster.e2e-spec.ts.
 */
type ContractApp = Awaited<ReturnType<typeof startContractApp>>;

let contract: ContractApp;

beforeAll(async () => {
  contract = await startContractApp();
  contract.setMode({ size: 1024, delayMs: 0 });
});

afterAll(async () => {
  await contract?.close();
});

async function waitForEnd(orchestrator: Orchestrator, runId: number) {
  return waitFor(async () => {
    const run = (await orchestrator.api.get(`/api/runs/${runId}`).expect(200)).body;
    return ['queued', 'running'].includes(run.status) ? undefined : run;
  });
}

describe('an app\'s zone in the API and the form', () => {
  let orchestrator: Orchestrator;
  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
  });
  afterAll(async () => {
    await orchestrator.close();
  });

  it('defaults to "default", takes a slug, and refuses anything else with 400 naming zone', async () => {
    const created = (await orchestrator.api.post('/api/apps', appInput({ url: contract.url })).expect(201)).body;
    expect(created.zone).toBe('default');
    for (const zone of ['Host B', '', '-host', 'a'.repeat(41), null, 7]) {
      const refused = await orchestrator.api.post('/api/apps', appInput({ name: 'other', zone })).expect(400);
      expect(refused.body.details.map((problem: { field: string }) => problem.field), JSON.stringify(zone)).toEqual(['zone']);
      await orchestrator.api.patch(`/api/apps/${created.id}`, { zone }).expect(400);
    }
    const moved = (await orchestrator.api.patch(`/api/apps/${created.id}`, { zone: 'host-b' }).expect(200)).body;
    expect(moved.zone).toBe('host-b');
    expect((await orchestrator.api.get(`/api/apps/${created.id}`).expect(200)).body.zone).toBe('host-b');
    const other = (await orchestrator.api.post('/api/apps', appInput({ name: 'east', zone: 'east-1' })).expect(201)).body;
    expect(other.zone).toBe('east-1');
    await orchestrator.api.delete(`/api/apps/${created.id}`).expect(204);
    await orchestrator.api.delete(`/api/apps/${other.id}`).expect(204);
  });

  it('has a zone field in the form (default filled in), shows a bad one inline, and shows the zone on the dashboard and the app page', async () => {
    const browser = (await orchestrator.pages()).set('Accept', 'text/html');
    const blank = await browser.get('/apps/new').expect(200);
    expect(blank.text).toMatch(/id="field-zone" name="zone" type="text"\s+value="default"/);
    expect(blank.text).toContain('<label class="form-label" for="field-zone">Zone</label>');
    const form = (fields: Record<string, string>) =>
      new URLSearchParams({ _csrf: csrfOf(blank.text), name: 'shop', url: contract.url, token: 'test-token', schedule: '0 3 * * *', driveFolderId: 'shop', retention: '7', enabled: 'on', ...fields }).toString();
    const invalid = await browser.post('/apps').type('form').send(form({ zone: 'Host B' })).expect(400);
    expect(invalid.text).toMatch(/data-error-for="zone">must be 1-40 lowercase letters/);
    expect(invalid.text).toContain('value="Host B"');

    const created = await browser.post('/apps').type('form').send(form({ zone: 'host-b' })).expect(303);
    const id = Number(created.headers.location.split('/').pop());
    expect((await orchestrator.api.get(`/api/apps/${id}`).expect(200)).body.zone).toBe('host-b');
    expect((await browser.get(`/apps/${id}`).expect(200)).text).toContain('data-zone="host-b">host-b</dd>');
    expect((await browser.get('/').expect(200)).text).toContain('data-zone="host-b">Zone: host-b</div>');
    const edit = await browser.get(`/apps/${id}/edit`).expect(200);
    expect(edit.text).toMatch(/id="field-zone" name="zone" type="text"\s+value="host-b"/);
    // Blank: back to the default zone.
    await browser.post(`/apps/${id}`).type('form').send(form({ _csrf: csrfOf(edit.text), zone: '' })).expect(303);
    expect((await orchestrator.api.get(`/api/apps/${id}`).expect(200)).body.zone).toBe('default');
    expect((await (await orchestrator.pages()).set('Accept-Language', 'es').get('/apps/new').expect(200)).text).toContain('for="field-zone">Zona</label>');
    await orchestrator.api.delete(`/api/apps/${id}`).expect(204);
  });
});

describe('embedded mode: one process, of zone REPLICA_ZONE', () => {
  it('refuses a REPLICA_ZONE that is not a slug, naming it', () => {
    expect(() => loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'orquestador-zone-')), REPLICA_ZONE: 'Host A' }, null)).toThrow(/REPLICA_ZONE: must be 1-40 lowercase letters/);
  });

  it('runs the apps of its zone, fails those of another at once "no replica in zone X" (manual and scheduled), and reports degraded health naming the zone', async () => {
    const orchestrator = await bootOrchestrator({ REPLICA_ZONE: 'host-a' });
    try {
      expect((await orchestrator.api.get('/api/replicas').expect(200)).body).toMatchObject([{ zone: 'host-a', runs: 0 }]);
      const home = (await orchestrator.api.post('/api/apps', appInput({ name: 'home', url: contract.url, zone: 'host-a' })).expect(201)).body;
      expect((await orchestrator.api.get('/api/health').expect(200)).body.status).toBe('ok');
      const own = (await orchestrator.api.post(`/api/apps/${home.id}/run`).expect(202)).body.runId;
      expect((await waitForEnd(orchestrator, own)).status).toBe('succeeded');

      // An app of zone host-b: its URL works, but this process is not on host-b's network.
      const away = (await orchestrator.api.post('/api/apps', appInput({ name: 'away', url: contract.url, zone: 'host-b', driveFolderId: 'away' })).expect(201)).body;
      const requestsBefore = contract.requests.length;
      const manual = (await orchestrator.api.post(`/api/apps/${away.id}/run`).expect(202)).body.runId;
      const failed = (await orchestrator.api.get(`/api/runs/${manual}`).expect(200)).body;
      expect(failed).toMatchObject({ status: 'failed', kind: 'backup', trigger: 'manual' });
      expect(failed.error).toMatch(/no replica in zone host-b/);
      expect((await orchestrator.api.post(`/api/apps/${away.id}/verify`, {}).expect(202)).body.runId).toBeGreaterThan(manual);

      const health = (await orchestrator.api.get('/api/health').expect(200)).body;
      expect(health.status).toBe('degraded');
      expect(health.checks.zones).toEqual({ status: 'error', error: expect.stringMatching(/^no replica in zone host-b/), unserved: [{ zone: 'host-b', apps: 1 }] });

      // Scheduled: each firing leaves one failed run, at once.
      await orchestrator.api.patch(`/api/apps/${away.id}`, { schedule: '* * * * * *' }).expect(200);
      const scheduled = await waitFor(async () => {
        const runs = (await orchestrator.api.get(`/api/runs?appId=${away.id}&trigger=schedule`).expect(200)).body;
        return runs.length >= 2 ? runs : undefined;
      }, 5000);
      await orchestrator.api.patch(`/api/apps/${away.id}`, { enabled: false }).expect(200);
      for (const run of scheduled) expect(run).toMatchObject({ status: 'failed', error: expect.stringMatching(/no replica in zone host-b/) });
      // Nothing of host-b's app was asked of its URL.
      expect(contract.requests.slice(requestsBefore)).toEqual([]);
      // Disabled: no longer counted against the health.
      expect((await orchestrator.api.get('/api/health').expect(200)).body.checks.zones).toEqual({ status: 'ok' });
    } finally {
      await orchestrator.close();
    }
  });
});

describe('upgrading a database made before zones', () => {
  it('puts every existing app in zone "default", which a default replica runs', async () => {
    const SECRET_KEY = 'a-zone-upgrade-test-secret-key-0123456789';
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-zone-upgrade-'));
    const { config } = loadConfig({ ADMIN_PASSWORD: ADMIN.password, DATA_DIR: dataDir, SECRET_KEY }, null);
    mkdirSync(join(config.databasePath, '..'), { recursive: true });
    const old = new DataSource({ type: 'better-sqlite3', database: config.databasePath, migrations: MIGRATIONS.slice(0, MIGRATIONS.indexOf(AppZone1765600000000)) });
    await old.initialize();
    await old.runMigrations();
    await old.query(
      `INSERT INTO apps (name, url, tokenEncrypted, schedule, driveFolderId, retention, createdAt, updatedAt) VALUES ('legacy', ?, ?, '0 3 * * *', 'legacy', 2, datetime('now'), datetime('now'))`,
      [contract.url, new TokenCipher(SECRET_KEY).encrypt('test-token')],
    );
    await old.destroy();

    // DATABASE_PATH: the SQLite file even under TEST_DATABASE=postgres (the PostgreSQL migration is exercised by every cluster test).
    const orchestrator = await bootOrchestrator({ DATA_DIR: dataDir, DATABASE_PATH: config.databasePath, SECRET_KEY });
    try {
      const [app] = (await orchestrator.api.get('/api/apps').expect(200)).body;
      expect(app).toMatchObject({ name: 'legacy', zone: 'default' });
      const runId = (await orchestrator.api.post(`/api/apps/${app.id}/run`).expect(202)).body.runId;
      expect((await waitForEnd(orchestrator, runId)).status).toBe('succeeded');
    } finally {
      await orchestrator.close();
    }
  });
});
