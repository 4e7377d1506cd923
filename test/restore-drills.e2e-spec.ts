import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Of, startContractApp } from './support/contract-app.mjs';
import { expectFailed, registerApp, RunBody, runBackup, waitForRunEnd } from './support/backups';
import { bootOrchestrator, Orchestrator, waitFor } from './support/orchestrator';
import { startReceiver } from './support/receiver';

const EVERY_SECOND = '* * * * * *';
const SIZE = 2 * 1024 * 1024 + 3;

type DrillRun = RunBody & { kind: string; backupName: string; selftest: { ok: boolean; checks: { name: string; ok: boolean; detail: string | null }[] } | null };

// Restore drills (#18): a backup restored into a scratch instance of the app, whose selftest then says whether it works.
describe('restore drills', () => {
  let orchestrator: Orchestrator;
  let production: Awaited<ReturnType<typeof startContractApp>>;
  let drill: Awaited<ReturnType<typeof startContractApp>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let appId: number;
  let backup: RunBody & { backupName: string };
  /** Requests production had received once its backup was made: no drill may add one. */
  let productionRequests: number;

  beforeAll(async () => {
    receiver = await startReceiver();
    orchestrator = await bootOrchestrator({ NOTIFY_WEBHOOK_URL: `${receiver.url}/hook` });
    production = await startContractApp({ token: 'prod-token' });
    drill = await startContractApp({ token: 'drill-token' });
    production.setMode({ size: SIZE });
    appId = (await registerApp(orchestrator, { name: 'notes', url: production.url, token: 'prod-token', driveFolderId: 'notes', retention: 5 })).id;
    backup = (await runBackup(orchestrator, appId)) as typeof backup;
    expect(backup.status).toBe('succeeded');
    productionRequests = production.requests.length;
  });
  afterAll(async () => {
    await orchestrator?.close();
    await production?.close();
    await drill?.close();
    await receiver?.close();
  });

  const startDrill = async (body?: object) => {
    const { body: started } = await orchestrator.api.post(`/api/apps/${appId}/drill`, body).expect(202);
    return (await waitForRunEnd(orchestrator, started.runId)) as DrillRun;
  };

  /** Lets the drill schedule fire once and returns that run, then turns the schedule off again. */
  const scheduledDrill = async (): Promise<DrillRun> => {
    const newestDrill = async () => ((await orchestrator.api.get(`/api/runs?kind=drill&appId=${appId}&limit=1`).expect(200)).body[0] ?? { id: 0 }) as DrillRun;
    const after = (await newestDrill()).id;
    await orchestrator.api.patch(`/api/apps/${appId}`, { drillSchedule: EVERY_SECOND }).expect(200);
    try {
      const id = await waitFor(async () => {
        const newest = await newestDrill();
        return newest.id > after ? newest.id : undefined;
      });
      const run = (await waitForRunEnd(orchestrator, id)) as DrillRun;
      expect(run.trigger).toBe('schedule');
      return run;
    } finally {
      await orchestrator.api.patch(`/api/apps/${appId}`, { drillSchedule: null }).expect(200);
      // A second firing may have started meanwhile: the next test starts on a quiet app.
      await waitFor(async () => (['queued', 'running'].includes((await newestDrill()).status) ? undefined : true));
    }
  };

  it('refuses a drill of an app without a drill instance (400), and a drill instance without a token of its own', async () => {
    const refused = await orchestrator.api.post(`/api/apps/${appId}/drill`).expect(400);
    expect(refused.body.message).toBe('notes has no drill instance: set drillUrl and drillToken first');
    const noToken = await orchestrator.api.patch(`/api/apps/${appId}`, { drillUrl: drill.url }).expect(400);
    expect(JSON.stringify(noToken.body)).toContain('drillToken');
    const isProduction = await orchestrator.api.patch(`/api/apps/${appId}`, { drillUrl: production.url, drillToken: 'drill-token' }).expect(400);
    expect(JSON.stringify(isProduction.body)).toContain('drillUrl');
    const noUrl = await orchestrator.api.patch(`/api/apps/${appId}`, { drillSchedule: '0 5 * * 6' }).expect(400);
    expect(JSON.stringify(noUrl.body)).toContain('drillSchedule');
  });

  it('keeps the drill token write-only', async () => {
    const saved = (await orchestrator.api.patch(`/api/apps/${appId}`, { drillUrl: drill.url, drillToken: 'drill-token' }).expect(200)).body;
    expect(saved).toMatchObject({ drillUrl: drill.url, hasDrillToken: true, drillSchedule: null });
    const shown = await orchestrator.api.get(`/api/apps/${appId}`).expect(200);
    expect(shown.text).not.toContain('drill-token');
    expect(shown.body).not.toHaveProperty('drillToken');
    expect(shown.body).not.toHaveProperty('drillTokenEncrypted');
  });

  it('restores the newest backup into the drill instance with its own token, records the selftest, and never calls production', async () => {
    const run = await startDrill();
    expect(run).toMatchObject({ kind: 'drill', trigger: 'manual', status: 'succeeded', backupName: backup.backupName, bytes: SIZE, sha256: sha256Of(SIZE) });
    expect(run.selftest).toEqual({
      ok: true,
      checks: [{ name: 'last import complete', ok: true, detail: `${SIZE} bytes` }, { name: 'migrations up to date', ok: true, detail: null }],
    });
    expect(drill.imports.at(-1)).toMatchObject({ bytes: SIZE, sha256: sha256Of(SIZE), complete: true });
    expect(drill.requests).toEqual(['GET /backup/capabilities', 'POST /backup/import', 'GET /backup/selftest']);
    expect(drill.headers.every((headers) => headers.authorization === 'Bearer drill-token')).toBe(true);
    expect(run.log.join('\n')).toContain(`restore drill: restoring ${backup.backupName} into the drill instance ${drill.url}; the production URL is not contacted`);
    expect(production.requests.length).toBe(productionRequests);
  });

  it('drills a named backup (body {"backup"}), and refuses one that is not a recorded backup', async () => {
    expect((await startDrill({ backup: backup.backupName })).status).toBe('succeeded');
    await orchestrator.api.post(`/api/apps/${appId}/drill`, { backup: 'notes-20990101T000000Z.db' }).expect(400);
    await orchestrator.api.post(`/api/apps/${appId}/drill`, { backup: '../etc/passwd' }).expect(400);
  });

  it('runs on its drillSchedule and passes; the app page and the metric show the last successful drill', async () => {
    const run = await scheduledDrill();
    expect(run).toMatchObject({ kind: 'drill', trigger: 'schedule', status: 'succeeded', backupName: backup.backupName });
    const metrics = (await orchestrator.api.get('/metrics').expect(200)).text;
    const value = new RegExp(`backup_last_drill_success_timestamp_seconds\\{app="notes"\\} (\\d+(\\.\\d+)?)`).exec(metrics);
    expect(Number(value![1])).toBeCloseTo(Date.parse(run.finishedAt!) / 1000, 0);
    const page = await (await orchestrator.pages()).get(`/apps/${appId}`).expect(200);
    expect(page.text).toContain('Last successful drill');
    expect(page.text).toContain(backup.backupName);
    expect(production.requests.length).toBe(productionRequests);
  });

  it('fails a scheduled drill whose selftest fails, keeps which checks failed, and notifies like a failed backup', async () => {
    drill.setMode({ behaviour: 'selftest-fail' });
    const hooks = receiver.received.length;
    const run = await scheduledDrill();
    expectFailed(run, 'selftest', "the drill instance's selftest failed: rows in notes");
    expect(run.selftest!.ok).toBe(false);
    expect(run.selftest!.checks).toContainEqual({ name: 'rows in notes', ok: false, detail: '0 rows' });
    expect(run.log.join('\n')).toContain('selftest: FAILED: rows in notes 0 rows');
    const hook = await waitFor(() => receiver.received.slice(hooks).find((received) => received.path === '/hook'));
    expect(JSON.parse(hook.body)).toMatchObject({ app: 'notes', kind: 'drill', status: 'failed', runId: run.id });
    expect(JSON.parse(hook.body).text).toMatch(/^Restore drill of notes failed: selftest: /);
    expect(production.requests.length).toBe(productionRequests);
  });

  it.each([
    ['selftest-500', /^selftest: app answered 500/],
    ['selftest-garbage', /^selftest: the selftest answer is not \{"ok": true\|false/],
  ])('fails a drill whose selftest answers badly (%s)', async (behaviour, error) => {
    drill.setMode({ behaviour });
    const run = await startDrill();
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(error);
  });

  it('fails a scheduled drill of a tampered backup: the import is aborted before its end, and no selftest is asked', async () => {
    drill.setMode({});
    const file = join(orchestrator.config.rclone.remote, 'notes', backup.backupName);
    const original = readFileSync(file);
    const tampered = Buffer.from(original);
    tampered[1000] ^= 0xff;
    writeFileSync(file, tampered);
    try {
      const selftests = drill.requests.filter((line) => line === 'GET /backup/selftest').length;
      const run = await scheduledDrill();
      expectFailed(run, 'read', /differs from the SHA-256 recorded at backup time/);
      expect(drill.imports.at(-1)!.complete).toBe(false);
      expect(drill.requests.filter((line) => line === 'GET /backup/selftest').length).toBe(selftests);
      expect(run.selftest).toBeNull();
    } finally {
      writeFileSync(file, original);
    }
    expect(production.requests.length).toBe(productionRequests);
  });

  it('fails a drill into an instance whose schema is older than the backup, without importing', async () => {
    production.setMode({ size: 4096, app: { name: 'notes', version: '2', schemaVersion: '12' } });
    const newer = (await runBackup(orchestrator, appId)) as typeof backup;
    productionRequests = production.requests.length;
    drill.setMode({ app: { name: 'notes', version: '1', schemaVersion: '9' } });
    const imports = drill.imports.length;
    const run = await startDrill({ backup: newer.backupName });
    expectFailed(run, 'capabilities', /was made with schema version 12, newer than the 9 the app runs now/);
    expect(drill.imports.length).toBe(imports);
    expect(production.requests.length).toBe(productionRequests);
  });

  it('cancels a drill under way: the import is aborted, the run is cancelled, production untouched', async () => {
    // Far more than the buffers between the service and the drill instance: the read cannot have ended (and
    // the run committed) before the instance took it all.
    const size = 48 * 1024 * 1024;
    production.setMode({ size, app: undefined });
    const big = (await runBackup(orchestrator, appId)) as typeof backup;
    productionRequests = production.requests.length;
    drill.setMode({ app: undefined, importDelayMs: 20 });
    const imports = drill.imports.length;
    const { body } = await orchestrator.api.post(`/api/apps/${appId}/drill`, { backup: big.backupName }).expect(202);
    await waitFor(() => ((drill.imports[imports]?.bytes ?? 0) > 512 * 1024 ? true : undefined));
    await orchestrator.api.post(`/api/runs/${body.runId}/cancel`).expect(202);
    const run = (await waitForRunEnd(orchestrator, body.runId)) as DrillRun;
    expect(run.status).toBe('cancelled');
    expect(run.log.at(-1)).toContain('the import into the drill instance was aborted: the drill neither passed nor failed');
    await waitFor(() => (drill.imports[imports].sha256 === null ? true : undefined));
    expect(drill.imports[imports].complete).toBe(false);
    expect(drill.requests.at(-1)).toBe('POST /backup/import');
    expect(production.requests.length).toBe(productionRequests);
    drill.setMode({ importDelayMs: 0 });
  });

  it('fails a drill whose selftest answers more than 1 MiB, and one whose drill instance is down', async () => {
    drill.setMode({ extraCapabilities: {} });
    const huge = await startContractApp({ token: 'drill-token' });
    // An instance that imports fine, then floods its selftest answer.
    const flood = createServer((request, response) => {
      if (request.url === '/backup/selftest') {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.write('{"ok": true, "checks": [');
        const item = JSON.stringify({ name: 'x', ok: true, detail: 'y'.repeat(1000) });
        for (let i = 0; i < 2000; i++) response.write(`${item},`);
        return void response.end(`${item}]}`);
      }
      // Everything else goes to the well-behaved instance.
      const forward = new URL(request.url!, huge.url);
      request.pipe(httpRequest(forward, { method: request.method, headers: request.headers }, (answer) => {
        response.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(response);
      }));
    });
    await new Promise<void>((resolve) => flood.listen(0, '127.0.0.1', resolve));
    try {
      const floodUrl = `http://127.0.0.1:${(flood.address() as { port: number }).port}`;
      await orchestrator.api.patch(`/api/apps/${appId}`, { drillUrl: floodUrl }).expect(200);
      const flooded = await startDrill();
      expectFailed(flooded, 'selftest', /maxContentLength|exceeded|1048576/);
      await huge.close();
      await new Promise<void>((resolve) => flood.close(() => resolve()));
      flood.closeAllConnections();
      const down = await startDrill();
      expectFailed(down, 'capabilities', /refused: is the app running/);
    } finally {
      await orchestrator.api.patch(`/api/apps/${appId}`, { drillUrl: drill.url }).expect(200);
    }
    expect(production.requests.length).toBe(productionRequests);
  });
});
