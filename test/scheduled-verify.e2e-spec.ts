import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { BackupRunner } from '../src/backup/backup-runner.service';
import { registerApp, RunBody, runBackup, waitForRunEnd } from './support/backups';
import { bootOrchestrator, Orchestrator, waitFor } from './support/orchestrator';
import { startReceiver } from './support/receiver';

type ContractApp = Awaited<ReturnType<typeof startContractApp>>;
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** Every second: the cron library takes 6 fields with seconds first. */
const EVERY_SECOND = '*/1 * * * * *';

async function verifyRuns(orchestrator: Orchestrator, appId: number): Promise<RunBody[]> {
  return (await orchestrator.api.get(`/api/runs?kind=verify&appId=${appId}&limit=500`).expect(200)).body;
}

/** Waits for a finished scheduled verification of the app that `matches`. */
function waitForVerification(orchestrator: Orchestrator, appId: number, matches: (run: RunBody) => boolean): Promise<RunBody> {
  return waitFor(async () => (await verifyRuns(orchestrator, appId)).find((run) => run.trigger === 'schedule' && matches(run)));
}

/** Starts a manual backup, trying again while a scheduled verification holds the app (409). */
async function backupWhenFree(orchestrator: Orchestrator, appId: number): Promise<RunBody> {
  const runId = await waitFor(async () => {
    const response = await orchestrator.api.post(`/api/apps/${appId}/run`);
    return response.status === 202 ? (response.body.runId as number) : undefined;
  });
  return waitForRunEnd(orchestrator, runId);
}

const metric = (text: string, name: string, app: string) => {
  const line = text.split('\n').find((entry) => entry.startsWith(`${name}{app="${app}"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
};

describe('scheduled verification (VERIFY_SCHEDULE)', () => {
  let orchestrator: Orchestrator;
  let contract: ContractApp;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    contract = await startContractApp();
    contract.setMode({ size: 300_000 });
    orchestrator = await bootOrchestrator({ VERIFY_SCHEDULE: EVERY_SECOND, NOTIFY_WEBHOOK_URL: `${receiver.url}/hook`, MAX_CONCURRENT_BACKUPS: '1' });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
    await receiver?.close();
  });

  it('verifies the newest backup on schedule, catches a tampered file, notifies, degrades health and counts it', async () => {
    const vault = await registerApp(orchestrator, { name: 'vault', url: contract.url, driveFolderId: 'vault', pingUrl: `${receiver.url}/ping/vault` });
    const optOut = await registerApp(orchestrator, { name: 'optout', url: contract.url, driveFolderId: 'optout', verifySchedule: null });
    expect((await orchestrator.api.get(`/api/apps/${vault.id}`).expect(200)).body.verifySchedule).toBe('default');
    expect((await orchestrator.api.get(`/api/apps/${optOut.id}`).expect(200)).body.verifySchedule).toBeNull();
    const backup = await backupWhenFree(orchestrator, vault.id);
    expect(backup.status).toBe('succeeded');
    expect((await backupWhenFree(orchestrator, optOut.id)).status).toBe('succeeded');

    const ok = await waitForVerification(orchestrator, vault.id, (run) => run.status === 'succeeded');
    expect(ok).toMatchObject({ kind: 'verify', trigger: 'schedule', backupName: backup.backupName, sha256: backup.sha256, bytes: 300_000 });
    const verifiedAt = metric((await orchestrator.api.get('/metrics').expect(200)).text, 'backup_last_verified_timestamp_seconds', 'vault');
    expect(verifiedAt).toBeGreaterThanOrEqual(Date.parse(ok.finishedAt!) / 1000 - 0.001);
    const healthy = (await orchestrator.api.get('/api/health').expect(200)).body;
    expect(healthy.checks.verification).toEqual({ status: 'ok', failed: 0 });

    // Bit rot in the stored file: one byte flipped in the middle.
    const bytes = readFileSync(backup.remotePath!);
    bytes[150_000] ^= 0xff;
    writeFileSync(backup.remotePath!, bytes);

    const failed = await waitForVerification(orchestrator, vault.id, (run) => run.status === 'failed');
    expect(failed.error).toMatch(/^read: .*differs from the SHA-256 recorded at backup time/);
    const hook = await waitFor(() => receiver.received.find((r) => r.path === '/hook' && JSON.parse(r.body).runId === failed.id));
    expect(JSON.parse(hook.body)).toMatchObject({ app: 'vault', kind: 'verify', status: 'failed', text: expect.stringMatching(/^Verification of vault failed: read: /) });
    await waitFor(() => (receiver.received.some((r) => r.path === '/ping/vault/fail') ? true : undefined));
    // A verification never pings start or success: those would tell the monitor that a backup ran.
    expect(receiver.received.filter((r) => r.path === '/ping/vault/start')).toHaveLength(1);
    expect(receiver.received.filter((r) => r.path === '/ping/vault')).toHaveLength(1);

    const health = await orchestrator.api.get('/api/health').expect(200);
    expect(health.body.status).toBe('degraded');
    expect(health.body.checks.verification).toMatchObject({
      status: 'error',
      error: 'newest backup failed verification: vault',
      failed: 1,
      apps: [{ id: vault.id, name: 'vault', backup: backup.backupName, status: 'degraded' }],
    });
    const metrics = (await orchestrator.api.get('/metrics').expect(200)).text;
    expect(metric(metrics, 'backup_verify_failures_total', 'vault')).toBeGreaterThanOrEqual(1);
    expect(metric(metrics, 'backup_verify_failures_total', 'optout')).toBeUndefined();

    // The dashboard and the app page say when it was last verified and that it failed.
    const dashboard = (await (await orchestrator.pages()).get('/').expect(200)).text;
    const row = /<tr data-app="vault"[\s\S]*?<\/tr>/.exec(dashboard)![0];
    expect(row).toMatch(/data-last-verify>Last verification: <span class="badge text-bg-danger" data-status="failed">failed<\/span>/);
    const page = (await (await orchestrator.pages()).get(`/apps/${vault.id}`).set('Accept-Language', 'es').expect(200)).text;
    expect(page).toMatch(/data-last-verify><span class="badge text-bg-danger" data-status="failed">fallida<\/span>/);
    expect(page).toContain('data-verify-schedule="global"');

    // The app that opted out was never verified.
    expect(await verifyRuns(orchestrator, optOut.id)).toEqual([]);
  });

  it('stops when the app opts out, and a new good backup clears the degraded health', async () => {
    const [vault] = (await orchestrator.api.get('/api/apps?q=vault').expect(200)).body;
    await orchestrator.api.patch(`/api/apps/${vault.id}`, { verifySchedule: null }).expect(200);
    const fresh = await backupWhenFree(orchestrator, vault.id);
    expect(fresh.status).toBe('succeeded');
    const count = (await verifyRuns(orchestrator, vault.id)).length;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await verifyRuns(orchestrator, vault.id)).length).toBe(count);
    const health = (await orchestrator.api.get('/api/health').expect(200)).body;
    expect(health.checks.verification).toEqual({ status: 'ok', failed: 0 });
    // Back on the global schedule, the new backup is verified.
    await orchestrator.api.patch(`/api/apps/${vault.id}`, { verifySchedule: 'default' }).expect(200);
    await waitForVerification(orchestrator, vault.id, (run) => run.backupName === fresh.backupName && run.status === 'succeeded');
  });
});

describe('per-app verifySchedule', () => {
  let orchestrator: Orchestrator;
  let contract: ContractApp;

  beforeAll(async () => {
    contract = await startContractApp();
    contract.setMode({ size: 1000 });
    orchestrator = await bootOrchestrator({ SCHEDULER_TIMEZONE: 'Europe/Madrid' });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
  });

  it('validates it like a schedule: a cron that fires, "default", or null', async () => {
    const { api } = orchestrator;
    const app = await registerApp(orchestrator, { name: 'checked', url: contract.url, driveFolderId: 'checked' });
    for (const [value, reason] of [
      ['every day', /must have 5 fields/],
      ['0 0 30 2 *', /never fires/],
      ['61 * * * *', /not a valid cron expression/],
      [42, /string/],
      ['', /must have 5 fields/],
    ] as const) {
      const refused = await api.patch(`/api/apps/${app.id}`, { verifySchedule: value }).expect(400);
      expect(refused.body.details).toEqual([{ field: 'verifySchedule', reasons: [expect.stringMatching(reason)] }]);
    }
    expect((await api.patch(`/api/apps/${app.id}`, { verifySchedule: '0 4 * * 0' }).expect(200)).body.verifySchedule).toBe('0 4 * * 0');
    expect((await api.patch(`/api/apps/${app.id}`, { verifySchedule: null }).expect(200)).body.verifySchedule).toBeNull();
    expect((await api.patch(`/api/apps/${app.id}`, { retention: 4 }).expect(200)).body.verifySchedule).toBeNull();
    expect((await api.patch(`/api/apps/${app.id}`, { verifySchedule: 'default' }).expect(200)).body.verifySchedule).toBe('default');
    await api.post('/api/apps', { ...(await api.get(`/api/apps/${app.id}`)).body, name: 'bad', token: 't', verifySchedule: '0 0 31 4 *' }).expect(400);
  });

  it("runs an app's own schedule while VERIFY_SCHEDULE is off, and never the others", async () => {
    const own = await registerApp(orchestrator, { name: 'own', url: contract.url, driveFolderId: 'own', verifySchedule: EVERY_SECOND });
    const follower = await registerApp(orchestrator, { name: 'follower', url: contract.url, driveFolderId: 'follower' });
    const backup = await backupWhenFree(orchestrator, own.id);
    expect((await backupWhenFree(orchestrator, follower.id)).status).toBe('succeeded');
    await waitForVerification(orchestrator, own.id, (run) => run.status === 'succeeded' && run.backupName === backup.backupName);
    const page = (await (await orchestrator.pages()).get(`/apps/${own.id}`).expect(200)).text;
    expect(page).toContain('data-verify-schedule="own"');
    // Following a VERIFY_SCHEDULE that is off: nothing.
    await orchestrator.api.patch(`/api/apps/${own.id}`, { verifySchedule: 'default' }).expect(200);
    await waitFor(async () => ((await verifyRuns(orchestrator, own.id)).every((run) => !['queued', 'running'].includes(run.status)) ? true : undefined));
    const count = (await verifyRuns(orchestrator, own.id)).length;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await verifyRuns(orchestrator, own.id)).length).toBe(count);
    expect(await verifyRuns(orchestrator, follower.id)).toEqual([]);
  });

  it('registers the apps\' own schedules again at the next boot', async () => {
    const [own] = (await orchestrator.api.get('/api/apps?q=own').expect(200)).body;
    await orchestrator.api.patch(`/api/apps/${own.id}`, { verifySchedule: EVERY_SECOND }).expect(200);
    await orchestrator.close();
    orchestrator = await bootOrchestrator({ DATA_DIR: orchestrator.dataDir, SCHEDULER_TIMEZONE: 'Europe/Madrid' });
    const bootedAt = Date.now();
    const run = await waitForVerification(orchestrator, own.id, (candidate) => Date.parse(candidate.queuedAt) >= bootedAt);
    expect(run.status).not.toBe('failed');
  });
});

describe('a scheduled verification waiting for a slot', () => {
  let orchestrator: Orchestrator;
  let slow: ContractApp;
  let fast: ContractApp;

  beforeAll(async () => {
    [slow, fast] = await Promise.all([startContractApp(), startContractApp()]);
    slow.setMode({ size: 1024 * 1024, delayMs: 150 }); // ~2.4 s: holds the only slot
    fast.setMode({ size: 1000 });
    orchestrator = await bootOrchestrator({ MAX_CONCURRENT_BACKUPS: '1' });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await Promise.all([slow?.close(), fast?.close()]);
  });

  /** Starts a slow backup of `busy` and waits until it holds the slot. */
  async function holdTheSlot(busyId: number): Promise<number> {
    const { runId } = (await orchestrator.api.post(`/api/apps/${busyId}/run`).expect(202)).body;
    await waitFor(async () => ((await orchestrator.api.get(`/api/runs/${runId}`).expect(200)).body.status === 'running' ? true : undefined));
    return runId;
  }

  it('gives way to a scheduled backup of the same app (recorded as skipped); a manual one does not', async () => {
    const busy = await registerApp(orchestrator, { name: 'busy', url: slow.url, driveFolderId: 'busy' });
    const quick = await registerApp(orchestrator, { name: 'quick', url: fast.url, driveFolderId: 'quick' });
    expect((await runBackup(orchestrator, quick.id)).status).toBe('succeeded');
    // The scheduler's firings call exactly these.
    const runner = orchestrator.app.get(BackupRunner);

    let holder = await holdTheSlot(busy.id);
    const verify = await runner.startVerify(quick.id, 'schedule');
    expect(verify.status).toBe('queued');
    const backup = await runner.start(quick.id, 'schedule');
    expect(backup).toMatchObject({ kind: 'backup', trigger: 'schedule', status: 'queued' });
    expect(await waitForRunEnd(orchestrator, verify.id)).toMatchObject({
      kind: 'verify', status: 'skipped', error: 'a scheduled backup of this app came while this verification waited for a free slot: the backup goes first',
    });
    expect((await waitForRunEnd(orchestrator, backup.id)).status).toBe('succeeded');
    expect((await waitForRunEnd(orchestrator, holder)).status).toBe('succeeded');

    holder = await holdTheSlot(busy.id);
    const manual = (await orchestrator.api.post(`/api/apps/${quick.id}/verify`).expect(202)).body.runId;
    const firing = await runner.start(quick.id, 'schedule');
    expect(firing).toMatchObject({ kind: 'backup', status: 'skipped', error: 'the previous run of this app was still running' });
    expect((await waitForRunEnd(orchestrator, manual)).status).toBe('succeeded');
    await waitForRunEnd(orchestrator, holder);
  });
});
