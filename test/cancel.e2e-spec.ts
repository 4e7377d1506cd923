import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ExportTransfer } from '../src/backup/export-transfer';
import { RcloneAdapter } from '../src/storage/rclone.adapter';
import { sha256Of, startContractApp } from './support/contract-app.mjs';
import { filesIn, registerApp, RunBody, runBackup, seed, sha256File, waitForRunEnd } from './support/backups';
import { bootOrchestrator, csrfOf, Orchestrator, waitFor } from './support/orchestrator';
import { processState } from './support/processes';
import { startReceiver } from './support/receiver';
import { startWebdav } from './support/webdav';

type ContractApp = Awaited<ReturnType<typeof startContractApp>>;
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const OLD_BACKUPS = ['shop-20250101T000000Z.db', 'shop-20250102T000000Z.db'];

/** rclone processes this test process started (from the worker threads too), with their command lines. */
function rcloneChildren(): { pid: number; args: string[] }[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).flatMap((entry) => {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      return parent === process.pid && args[0]?.endsWith('rclone') ? [{ pid: Number(entry), args }] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

describe('cancelling runs (#17 point 8)', () => {
  let orchestrator: Orchestrator;
  let contract: ContractApp;
  let receiver: Receiver;
  let counter = 0;

  beforeAll(async () => {
    receiver = await startReceiver();
    contract = await startContractApp({ token: 'test-token' });
    orchestrator = await bootOrchestrator({ MAX_CONCURRENT_BACKUPS: '1', NOTIFY_WEBHOOK_URL: `${receiver.url}/hook`, SHUTDOWN_GRACE_S: '0' });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
    await receiver?.close();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const app of (await orchestrator.api.get('/api/apps').expect(200)).body) await orchestrator.api.delete(`/api/apps/${app.id}`).expect(204);
    contract.setMode({ size: 1024 * 1024, length: true, checksum: true, delayMs: 0, chunkSize: undefined, importDelayMs: 0 });
  });

  /** A fresh app with its own folder in the local remote, holding two older backups that retention 1 would delete. */
  async function freshApp(overrides: Record<string, unknown> = {}) {
    const folder = `cancel-${++counter}`;
    const path = join(orchestrator.config.rclone.remote, folder);
    seed(path, OLD_BACKUPS);
    const app = await registerApp(orchestrator, { name: 'shop', url: contract.url, driveFolderId: folder, retention: 1, ...overrides });
    return { app, folder: path };
  }

  const cancel = (runId: number) => orchestrator.api.post(`/api/runs/${runId}/cancel`);
  const start = async (appId: number): Promise<number> => (await orchestrator.api.post(`/api/apps/${appId}/run`).expect(202)).body.runId;
  const get = async (runId: number): Promise<RunBody> => (await orchestrator.api.get(`/api/runs/${runId}`).expect(200)).body;
  const bytesAbove = (runId: number, bytes: number) => waitFor(async () => ((await get(runId)).bytes > bytes ? true : undefined));

  it('answers 404 for an unknown run and 409 for a finished one, which stays as it was', async () => {
    expect((await cancel(999_999).expect(404)).body.message).toBe('no run with id 999999');
    await cancel(0).expect(404);

    const { app, folder } = await freshApp({ retention: 5 });
    const done = await runBackup(orchestrator, app.id);
    expect(done.status).toBe('succeeded');
    const refused = await cancel(done.id).expect(409);
    expect(refused.body.message).toBe(`run ${done.id} has already finished (succeeded): only a queued or running run can be cancelled`);
    expect(await get(done.id)).toMatchObject({ status: 'succeeded', sha256: done.sha256 });
    expect(filesIn(folder)).toEqual([...OLD_BACKUPS, done.backupName].sort());
  });

  it('stops a running backup at once: rclone killed before the end, no final or temporary file, no retention, no notification', async () => {
    // 64 MiB at 64 KiB per 20 ms: over 20 s, through the worker thread into rclone rcat; the cancel ends it in far less.
    contract.setMode({ size: 64 * 1024 * 1024, delayMs: 20 });
    const { app, folder } = await freshApp({ pingUrl: `${receiver.url}/ping/shop` });
    const exportsBefore = contract.exports.length;
    const runId = await start(app.id);
    await bytesAbove(runId, 2 * 1024 * 1024);
    const [rcat] = rcloneChildren().filter((child) => child.args[1] === 'rcat' && child.args[2].endsWith(`.run${runId}.partial`));
    expect(rcat).toBeDefined();
    expect(filesIn(folder)).toContainEqual(expect.stringMatching(new RegExp(`^\\.shop-.*\\.run${runId}\\.partial$`)));

    const asked = Date.now();
    // Two admins at once: one cancel stops it, the other is told so.
    const [first, second] = (await Promise.all([cancel(runId), cancel(runId)])).sort((a, b) => a.status - b.status);
    expect([first.status, first.body]).toEqual([202, { runId }]);
    expect(second.status).toBe(409);
    expect(second.body.message).toMatch(new RegExp(`^run ${runId} (is already being cancelled|has already finished \\(cancelled\\).*)$`));
    const run = await waitForRunEnd(orchestrator, runId);
    expect(Date.now() - asked).toBeLessThan(5000);

    expect(run).toMatchObject({ status: 'cancelled', error: null, sha256: null, remotePath: null });
    expect(run.finishedAt).not.toBeNull();
    expect(run.bytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(run.bytes).toBeLessThan(32 * 1024 * 1024);
    expect(run.log.at(-1)).toMatch(/ cancelled by an admin after \d+ bytes: stopped before the backup was stored \(an upload under way had rclone killed and its temporary file removed\): nothing was stored and nothing deleted$/);
    expect(run.log.join('\n')).not.toContain('retention');
    // Older backups intact, nothing new under any name.
    expect(filesIn(folder)).toEqual(OLD_BACKUPS);
    // rclone was killed and reaped (no zombie), and the app's export never completed.
    expect(processState(rcat.pid)).toBe('gone');
    expect(contract.exports.length).toBe(exportsBefore);
    expect(rcloneChildren().filter((child) => child.args[1] === 'rcat')).toEqual([]);

    // Too late now; a cancelled run is no failure: no webhook, the app is not "failed".
    expect((await cancel(runId).expect(409)).body.message).toBe(`run ${runId} has already finished (cancelled): only a queued or running run can be cancelled`);
    const listed = (await orchestrator.api.get(`/api/apps/${app.id}`).expect(200)).body;
    expect(listed.lastRun).toMatchObject({ id: runId, status: 'cancelled' });
    expect((await orchestrator.api.get('/api/apps?status=failed').expect(200)).body.map((a: { id: number }) => a.id)).not.toContain(app.id);
    expect((await orchestrator.api.get(`/api/runs?status=cancelled&appId=${app.id}`).expect(200)).body.map((r: RunBody) => r.id)).toEqual([runId]);
    const metrics = (await orchestrator.api.get('/metrics').expect(200)).text;
    expect(metrics).toContain('backup_runs_total{app="shop",status="cancelled",trigger="manual"} 1');
    expect(metrics).toContain('backup_running{app="shop"} 0');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.received.filter((hook) => hook.body.includes(`"runId":${runId}`))).toEqual([]);
    // The dead-man switch heard the start and nothing else: no /fail for a cancel.
    expect(receiver.received.filter((ping) => ping.path.startsWith('/ping/shop')).map((ping) => ping.path)).toEqual(['/ping/shop/start']);

    // The app works as before: the next backup succeeds and only then does retention run.
    contract.setMode({ size: 4096, delayMs: 0 });
    const next = await runBackup(orchestrator, app.id);
    expect(next.status).toBe('succeeded');
    expect(filesIn(folder)).toEqual([next.backupName]);
  });

  it('stops a small backup (stored through the rclone daemon, no rclone process) while the app still sends', async () => {
    // 600 KiB at 8 KiB per 30 ms: about 2 s, collected on the worker for the daemon.
    contract.setMode({ size: 600 * 1024, chunkSize: 8 * 1024, delayMs: 30 });
    const { app, folder } = await freshApp();
    const runId = await start(app.id);
    await bytesAbove(runId, 100 * 1024);
    await cancel(runId).expect(202);
    const run = await waitForRunEnd(orchestrator, runId);
    expect(run.status).toBe('cancelled');
    expect(filesIn(folder)).toEqual(OLD_BACKUPS);
    expect(rcloneChildren().filter((child) => child.args[1] === 'rcat')).toEqual([]);
  });

  it('ends a backup cancelled between the app\'s answer and the start of the upload, without waiting for the export', async () => {
    contract.setMode({ size: 64 * 1024 * 1024, delayMs: 20 });
    const { app, folder } = await freshApp();
    const upload = ExportTransfer.prototype.upload;
    let runId = 0;
    // The app has answered (the name is chosen); the cancel lands before the worker is told to upload.
    vi.spyOn(ExportTransfer.prototype, 'upload').mockImplementation(function (this: ExportTransfer, target, onProgress) {
      return cancel(runId).expect(202).then(() => upload.call(this, target, onProgress));
    });
    runId = await start(app.id);
    const run = await waitForRunEnd(orchestrator, runId);
    expect(run.status).toBe('cancelled');
    expect(filesIn(folder)).toEqual(OLD_BACKUPS);
    expect(rcloneChildren().filter((child) => child.args[1] === 'rcat')).toEqual([]);
  });

  it('takes a queued run out of the queue: recorded cancelled when the answer comes, never started', async () => {
    contract.setMode({ size: 8 * 1024 * 1024, delayMs: 20 });
    const first = await freshApp();
    const second = await freshApp({ name: 'vault' });
    const runningId = await start(first.app.id);
    await waitFor(async () => ((await get(runningId)).status === 'running' ? true : undefined));
    const queuedId = await start(second.app.id);
    expect((await get(queuedId)).status).toBe('queued');
    const capabilitiesAsked = contract.requests.filter((line) => line === 'GET /backup/capabilities').length;

    await cancel(queuedId).expect(202);
    const queued = await get(queuedId);
    expect(queued).toMatchObject({ status: 'cancelled', startedAt: null, bytes: 0, error: null });
    expect(queued.log).toEqual([expect.stringMatching(/^\S+ cancelled by an admin before it started$/)]);
    await cancel(queuedId).expect(409);
    // The slot it would have taken: the running run goes on, and no run of the second app starts after it.
    expect((await get(runningId)).status).toBe('running');
    await cancel(runningId).expect(202);
    expect((await waitForRunEnd(orchestrator, runningId)).status).toBe('cancelled');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(contract.requests.filter((line) => line === 'GET /backup/capabilities').length).toBe(capabilitiesAsked);
    expect((await orchestrator.api.get(`/api/apps/${second.app.id}/runs`).expect(200)).body.map((r: RunBody) => r.status)).toEqual(['cancelled']);
    expect(filesIn(second.folder)).toEqual(OLD_BACKUPS);
    // The slot was given back: a new run of the second app starts and succeeds.
    contract.setMode({ size: 4096, delayMs: 0 });
    expect((await runBackup(orchestrator, second.app.id)).status).toBe('succeeded');
  });

  it('aborts a running restore: the app gets an aborted import body, rclone cat is stopped', async () => {
    // Far more than the kernel buffers between the service and the app: the read cannot have ended (and the
    // run committed) long before the app took it all.
    const size = 48 * 1024 * 1024;
    contract.setMode({ size });
    const { app } = await freshApp({ retention: 5 });
    const backup = await runBackup(orchestrator, app.id);
    expect(backup.status).toBe('succeeded');
    contract.setMode({ importDelayMs: 20 }); // over 15 s for the app to take it all
    const importsBefore = contract.imports.length;
    const runId = (await orchestrator.api.post(`/api/apps/${app.id}/restore`, { backup: backup.backupName }).expect(202)).body.runId;
    await waitFor(() => (contract.imports[importsBefore]?.bytes > 512 * 1024 ? true : undefined));

    const asked = Date.now();
    await cancel(runId).expect(202);
    const run = await waitForRunEnd(orchestrator, runId);
    expect(Date.now() - asked).toBeLessThan(5000);
    expect(run).toMatchObject({ kind: 'restore', status: 'cancelled', error: null });
    expect(run.log.at(-1)).toMatch(/cancelled by an admin after \d+ bytes: the import was aborted: the app received an incomplete body/);
    await waitFor(() => (contract.imports[importsBefore].sha256 === null ? true : undefined));
    expect(contract.imports[importsBefore].complete).toBe(false);
    expect(contract.imports[importsBefore].bytes).toBeLessThan(size);
    expect(rcloneChildren().filter((child) => child.args[1] !== 'rcd')).toEqual([]);
  });

  it('cancels a queued verification', async () => {
    contract.setMode({ size: 4096 });
    const first = await freshApp({ retention: 5 });
    const backup = await runBackup(orchestrator, first.app.id);
    const second = await freshApp({ name: 'vault' });
    contract.setMode({ size: 8 * 1024 * 1024, delayMs: 20 });
    const runningId = await start(second.app.id);
    await waitFor(async () => ((await get(runningId)).status === 'running' ? true : undefined));
    const verifyId = (await orchestrator.api.post(`/api/apps/${first.app.id}/verify`, { backup: backup.backupName }).expect(202)).body.runId;
    await cancel(verifyId).expect(202);
    expect(await get(verifyId)).toMatchObject({ kind: 'verify', status: 'cancelled', startedAt: null });
    // A cancelled verification says nothing about the file: the listing still shows it as not verified.
    const [listed] = (await orchestrator.api.get(`/api/apps/${first.app.id}/backups`).expect(200)).body;
    expect(listed).toMatchObject({ name: backup.backupName, verified: null });
    await cancel(runningId).expect(202);
    await waitForRunEnd(orchestrator, runningId);
  });

  it.each([
    ['of known size, streamed', true],
    ['of unknown size, spooled by rclone first', false],
  ])('stops an upload into WebDAV %s: nothing left on the server, nothing in the spool folder', async (_, length) => {
    const dav = await startWebdav();
    const own = await bootOrchestrator({ RCLONE_REMOTE: 'dav:', RCLONE_CONFIG: dav.configPath, SHUTDOWN_GRACE_S: '0' });
    try {
      contract.setMode({ size: 64 * 1024 * 1024, length, checksum: length, delayMs: 20 });
      mkdirSync(join(dav.root, 'dav'));
      writeFileSync(join(dav.root, 'dav', OLD_BACKUPS[0]), 'older');
      const app = (await own.api.post('/api/apps', { name: 'shop', url: contract.url, token: 'test-token', schedule: '0 3 * * *', driveFolderId: 'dav', retention: 1 }).expect(201)).body;
      const { runId } = (await own.api.post(`/api/apps/${app.id}/run`).expect(202)).body;
      await waitFor(async () => ((await own.api.get(`/api/runs/${runId}`)).body.bytes > 1024 * 1024 ? true : undefined));
      // Streamed, the upload is already on the server under its temporary name; spooled, it is still on this machine.
      if (length) await waitFor(() => (filesIn(join(dav.root, 'dav')).some((name) => name.endsWith(`.run${runId}.partial`)) ? true : undefined));
      else expect(filesIn(own.config.tmpDir)).not.toEqual([]);
      await own.api.post(`/api/runs/${runId}/cancel`).expect(202);
      expect((await waitForRunEnd(own, runId)).status).toBe('cancelled');
      expect(filesIn(join(dav.root, 'dav'))).toEqual([OLD_BACKUPS[0]]);
      expect(filesIn(own.config.tmpDir)).toEqual([]);
      expect(rcloneChildren().filter((child) => child.args[1] === 'rcat')).toEqual([]);
    } finally {
      await own.close();
      await dav.stop();
    }
  });

  describe('a cancel that arrives as the run finishes gets exactly one outcome', () => {
    /** 202 and cancelled with no final file, or 409 and succeeded with the file; never anything else. */
    async function expectConsistent(runId: number, answer: number, folder: string): Promise<RunBody> {
      const run = await waitForRunEnd(orchestrator, runId);
      if (answer === 202) {
        expect(run.status).toBe('cancelled');
        expect(filesIn(folder)).toEqual(OLD_BACKUPS);
      } else {
        expect(answer).toBe(409);
        expect(run.status).toBe('succeeded');
        expect(sha256File(join(folder, run.backupName!))).toBe(run.sha256);
        expect(filesIn(folder)).toEqual([run.backupName]);
      }
      return run;
    }

    it('just before the rename: 202, the uploaded temporary file is removed, nothing stored', async () => {
      contract.setMode({ size: 4096 });
      const { app, folder } = await freshApp();
      const rclone = orchestrator.app.get(RcloneAdapter);
      const rcat = rclone.rcat.bind(rclone);
      let answer = 0;
      // The small upload has landed under its temporary name; the cancel comes before the run can commit.
      vi.spyOn(rclone, 'rcat').mockImplementation(async (target, source, options) => {
        await rcat(target, source, options);
        expect(filesIn(folder)).toContain(target.split('/').pop());
        answer = (await cancel(Number(/\.run(\d+)\.partial$/.exec(target)![1]))).status;
      });
      const runId = await start(app.id);
      const run = await expectConsistent(runId, await waitFor(() => answer || undefined), folder);
      expect(run.status).toBe('cancelled');
    });

    it('once the rename has begun: 409, and the run succeeds with its file and retention', async () => {
      contract.setMode({ size: 4096 });
      const { app, folder } = await freshApp();
      const rclone = orchestrator.app.get(RcloneAdapter);
      const moveTo = rclone.moveTo.bind(rclone);
      let answer: request.Response | undefined;
      vi.spyOn(rclone, 'moveTo').mockImplementation(async (from, to) => {
        answer = await cancel(Number(/\.run(\d+)\.partial$/.exec(from)![1]));
        return moveTo(from, to);
      });
      const runId = await start(app.id);
      const run = await expectConsistent(runId, (await waitFor(() => answer)).status, folder);
      expect(run.status).toBe('succeeded');
      expect(answer!.body.message).toBe(`run ${runId} is storing its result and can no longer be cancelled; it ends on its own in a moment`);
    });

    it('at any moment of a short run (a sweep of delays): always one of the two outcomes, and both happen', async () => {
      // About 400 ms of export per run; cancels from before the first byte to after the end.
      contract.setMode({ size: 256 * 1024, chunkSize: 16 * 1024, delayMs: 25 });
      const answers: number[] = [];
      for (const delayMs of [0, 50, 150, 300, 380, 400, 420, 440, 460, 480, 500, 550, 700, 1000]) {
        const { app, folder } = await freshApp();
        const runId = await start(app.id);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        const { status } = await cancel(runId);
        answers.push(status);
        await expectConsistent(runId, status, folder);
        expect(rcloneChildren().filter((child) => child.args[1] === 'rcat')).toEqual([]);
        await orchestrator.api.delete(`/api/apps/${app.id}`).expect(204);
      }
      expect(answers).toContain(202);
      expect(answers).toContain(409);
    }, 60_000);
  });

  describe('from the pages', () => {

    it('needs the page\'s CSRF token, then cancels and comes back to the page the button was on', async () => {
      contract.setMode({ size: 8 * 1024 * 1024, delayMs: 20 });
      const { app, folder } = await freshApp();
      const browser = (await orchestrator.pages()).set('Accept', 'text/html');
      const runId = await start(app.id);
      await waitFor(async () => ((await get(runId)).status === 'running' ? true : undefined));

      await browser.post(`/runs/${runId}/cancel`).type('form').send({ from: 'dashboard' }).expect(403);
      expect((await get(runId)).status).toBe('running');
      const appPage = await browser.get(`/apps/${app.id}`).expect(200);
      expect(appPage.text).toMatch(new RegExp(`action="/runs/${runId}/cancel"[^>]*>.*?<input type="hidden" name="from" value="app">`, 's'));
      const dashboard = await browser.get('/').expect(200);
      const row = /<tr data-app="shop"[\s\S]*?<\/tr>/.exec(dashboard.text)![0];
      expect(row).toContain(`action="/runs/${runId}/cancel"`);
      const done = await browser.post(`/runs/${runId}/cancel`).type('form').send({ _csrf: csrfOf(dashboard.text), from: 'dashboard' }).expect(303);
      expect(done.headers.location).toBe('/');
      expect((await waitForRunEnd(orchestrator, runId)).status).toBe('cancelled');
      expect(filesIn(folder)).toEqual(OLD_BACKUPS);

      // Finished: no button any more; a late post says so on the run's page.
      const page = await browser.get(`/runs/${runId}`).set('Accept-Language', 'es').expect(200);
      expect(page.text).not.toContain(`action="/runs/${runId}/cancel"`);
      expect(page.text).toContain('data-status="cancelled">cancelada</span>');
      expect(page.text).toContain('Cancelada antes de guardar la copia: si la subida había empezado, rclone se detuvo');
      const late = await browser.post(`/runs/${runId}/cancel`).type('form').send({ _csrf: csrfOf(dashboard.text) }).expect(303);
      expect(late.headers.location).toBe(`/runs/${runId}`);
      expect((await browser.get(`/runs/${runId}`).expect(200)).text).toContain(`Run #${runId} could not be cancelled: it has already finished or is storing its result.`);
      const list = await browser.get('/runs?status=cancelled').expect(200);
      expect(list.text).toContain('<option value="cancelled" selected>cancelled</option>');
      expect(list.text).toContain(`<tr data-run="${runId}">`);
    });
  });
});
