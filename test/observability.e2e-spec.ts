import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { registerApp, runBackup } from './support/backups';
import { ADMIN, bootOrchestrator, Orchestrator, waitFor } from './support/orchestrator';
import { servicePort, start, waitForHttp } from './support/processes';
import { startReceiver } from './support/receiver';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describe('notifications and dead-man pings', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    contract = await startContractApp();
    orchestrator = await bootOrchestrator({ NOTIFY_WEBHOOK_URL: `${receiver.url}/hook`, PUBLIC_URL: 'https://backups.example.com/' });
  });
  afterAll(async () => {
    await orchestrator.close();
    await contract.close();
    await receiver.close();
  });

  const hooks = () => receiver.received.filter((r) => r.path === '/hook');

  it('posts the failure as JSON with a link to the run, and pings /start then /fail', async () => {
    contract.setMode({ behaviour: 'fail' });
    const app = await registerApp(orchestrator, { name: 'alerting', url: contract.url, driveFolderId: 'a', pingUrl: `${receiver.url}/ping/abc` });
    const run = await runBackup(orchestrator, app.id);
    const hook = await waitFor(() => hooks().find((r) => JSON.parse(r.body).runId === run.id));
    expect(JSON.parse(hook.body)).toEqual({
      app: 'alerting',
      runId: run.id,
      kind: 'backup',
      status: 'failed',
      error: 'export: app answered 500: {"error":"database is locked"}',
      bytes: 0,
      durationMs: expect.any(Number),
      link: `https://backups.example.com/runs/${run.id}`,
      text: `Backup of alerting failed: export: app answered 500: {"error":"database is locked"} (https://backups.example.com/runs/${run.id})`,
    });
    await waitFor(() => (receiver.received.some((r) => r.path === '/ping/abc/fail') ? true : undefined));
    const pings = receiver.received.filter((r) => r.path.startsWith('/ping/abc'));
    expect(pings.map((p) => p.path)).toEqual(['/ping/abc/start', '/ping/abc/fail']);
    expect(pings[1].body).toContain('app answered 500');
  });

  it('pings /start then the URL itself on success, and does not notify a success by default', async () => {
    contract.setMode({ size: 1000 });
    const before = hooks().length;
    const app = await registerApp(orchestrator, { name: 'healthy', url: contract.url, driveFolderId: 'h', pingUrl: `${receiver.url}/ping/ok` });
    expect((await runBackup(orchestrator, app.id)).status).toBe('succeeded');
    await waitFor(() => (receiver.received.some((r) => r.path === '/ping/ok') ? true : undefined));
    expect(receiver.received.filter((r) => r.path.startsWith('/ping/ok')).map((p) => p.path)).toEqual(['/ping/ok/start', '/ping/ok']);
    expect(hooks().length).toBe(before);
  });

  it('retries a webhook that answers 500, gives up after three tries, and the run keeps its outcome', async () => {
    receiver.answer(500);
    contract.setMode({ behaviour: 'unauthorized' });
    const app = await registerApp(orchestrator, { name: 'retried', url: contract.url, driveFolderId: 'r' });
    const run = await runBackup(orchestrator, app.id);
    await waitFor(async () => ((await orchestrator.api.get(`/api/runs/${run.id}`)).body.log.some((l: string) => l.includes('notification:')) ? true : undefined), 10_000);
    const tries = hooks().filter((r) => JSON.parse(r.body).runId === run.id);
    expect(tries).toHaveLength(3);
    expect(tries[1].at - tries[0].at).toBeLessThan(5000);
    const after = (await orchestrator.api.get(`/api/runs/${run.id}`).expect(200)).body;
    expect(after.status).toBe('failed');
    expect(after.error).toBe(run.error);
    expect(after.log.join('\n')).toContain('notification: the webhook could not be reached: answered 500 (after 3 tries)');
    receiver.answer(200);
  });
});

describe('metrics', () => {
  it('counts runs, exposes state gauges that survive a restart, and needs credentials unless public', async () => {
    const contract = await startContractApp();
    contract.setMode({ size: 4321 });
    const first = await bootOrchestrator();
    const app = await registerApp(first, { name: 'measured', url: contract.url, driveFolderId: 'm', retention: 1 });
    await runBackup(first, app.id);
    await runBackup(first, app.id);
    contract.setMode({ behaviour: 'busy' });
    await runBackup(first, app.id);
    await request(first.app.getHttpServer()).get('/metrics').expect(401);
    const text = (await first.api.get('/metrics').expect(200)).text;
    expect(text).toContain('backup_runs_total{app="measured",status="succeeded",trigger="manual"} 2');
    expect(text).toContain('backup_runs_total{app="measured",status="failed",trigger="manual"} 1');
    expect(text).toContain('backup_bytes_total{app="measured"} 8642');
    expect(text).toContain('backup_last_size_bytes{app="measured"} 4321');
    expect(text).toContain('backup_running{app="measured"} 0');
    expect(text).toContain('retention_deleted_total{app="measured"} 1');
    expect(text).toMatch(/backup_duration_seconds_count\{app="measured"\} 2/);
    expect(text).toContain('process_resident_memory_bytes');
    const lastSuccess = /backup_last_success_timestamp_seconds\{app="measured"\} (\S+)/.exec(text)![1];
    const lastCopy = /backup_destination_last_success_timestamp_seconds\{app="measured",destination="default"\} (\S+)/.exec(text)![1];
    expect(lastCopy).toBe(lastSuccess);
    await first.close();

    const second = await bootOrchestrator({ DATA_DIR: first.dataDir, METRICS_PUBLIC: 'true' });
    try {
      const after = (await request(second.app.getHttpServer()).get('/metrics').expect(200)).text;
      expect(after).toContain('backup_last_size_bytes{app="measured"} 4321');
      expect(after).toContain(`backup_last_success_timestamp_seconds{app="measured"} ${lastSuccess}`);
      expect(after).toContain(`backup_destination_last_success_timestamp_seconds{app="measured",destination="default"} ${lastCopy}`);
    } finally {
      await second.close();
      await contract.close();
    }
  });
});

describe('health with overdue apps', () => {
  it('marks an app stale when it has not succeeded for twice its period, in health and on the dashboard', async () => {
    const orchestrator = await bootOrchestrator();
    try {
      const app = await registerApp(orchestrator, { name: 'overdue', url: 'http://127.0.0.1:9', schedule: '* * * * * *', driveFolderId: 'o' });
      const health = await waitFor(async () => {
        const body = (await orchestrator.api.get('/api/health').expect(200)).body;
        return body.checks.backups.stale === 1 ? body : undefined;
      }, 6000);
      expect(health.status).toBe('degraded');
      expect(health.checks.scheduler).toEqual({ status: 'ok', jobs: 1 });
      expect(health.checks.backups).toEqual({ status: 'ok', total: 1, stale: 1, partial: 0, apps: [{ id: app.id, name: 'overdue', lastSuccessAt: null, stale: true }], more: 0 });
      const dashboard = await (await orchestrator.pages()).get('/').expect(200);
      expect(dashboard.text).toContain('data-stale-alert');
      expect(dashboard.text).toContain('No successful backup for more than twice their schedule period: overdue');
    } finally {
      await orchestrator.close();
    }
  });
});

describe('JSON logs', () => {
  it('prints one parseable JSON object per line, with app and run id, and never the token', async () => {
    const contract = await startContractApp({ token: 'json-log-secret-token-123' });
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-json-'));
    const port = String(await servicePort());
    const service = start(process.execPath, ['dist/main.js'], {
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, PORT: port, ADMIN_PASSWORD: ADMIN.password, LOG_FORMAT: 'json' },
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/api/health`);
      const headers = { Authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`, 'Content-Type': 'application/json' };
      const api = (path: string, body?: object) => fetch(`http://127.0.0.1:${port}${path}`, { method: body ? 'POST' : 'GET', headers, body: body && JSON.stringify(body) }).then((r) => r.json());
      const app = await api('/api/apps', { name: 'logged', url: contract.url, token: 'json-log-secret-token-123', schedule: '0 3 * * *', driveFolderId: 'l', retention: 2 });
      for (const mode of [{ size: 100 }, { behaviour: 'unauthorized' }]) {
        contract.setMode(mode);
        const { runId } = await api(`/api/apps/${app.id}/run`, {});
        await waitFor(async () => (['succeeded', 'failed'].includes((await api(`/api/runs/${runId}`)).status) ? true : undefined));
      }
      await waitFor(() => (service.output().includes('failed') ? true : undefined));
    } finally {
      await service.stop();
      await contract.close();
    }
    const lines = service.output().trim().split('\n');
    const entries = lines.map((line) => JSON.parse(line));
    for (const entry of entries) expect(Object.keys(entry)).toEqual(expect.arrayContaining(['level', 'time', 'context', 'app', 'runId', 'message']));
    expect(entries).toContainEqual(expect.objectContaining({ level: 'log', context: 'RunsService', app: 'logged', runId: 1, message: expect.stringContaining('succeeded') }));
    expect(entries).toContainEqual(expect.objectContaining({ level: 'error', app: 'logged', runId: 2, message: expect.stringContaining('401: check the token') }));
    expect(service.output()).not.toContain('json-log-secret-token-123');
  });
});
