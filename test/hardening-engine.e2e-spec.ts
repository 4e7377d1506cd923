import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { expectFailed, filesIn, registerApp, RunBody, runBackup, seed, waitForRunEnd } from './support/backups';
import { bootOrchestrator, Orchestrator, waitFor } from './support/orchestrator';
import { startWebdav, WebdavRemote } from './support/webdav';

type ContractApp = Awaited<ReturnType<typeof startContractApp>>;

const OLD_BACKUPS = ['shop-20250101T000000Z.db', 'shop-20250102T000000Z.db'];
const nameOf = (run: RunBody) => run.remotePath!.split(/[/:]/).pop()!;

describe('the engine against a hostile app, a full disk and a dying remote', () => {
  let orchestrator: Orchestrator;
  let contract: ContractApp;
  let counter = 0;

  beforeAll(async () => {
    orchestrator = await bootOrchestrator({ BACKUP_IDLE_TIMEOUT_S: '2' });
    contract = await startContractApp();
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const app of (await orchestrator.api.get('/api/apps')).body) await orchestrator.api.delete(`/api/apps/${app.id}`);
  });

  /** A fresh app with its own folder in the local remote, seeded with `seeded`. */
  async function freshApp(overrides: Record<string, unknown> = {}, seeded: string[] = OLD_BACKUPS) {
    const folder = `h12-${++counter}`;
    seed(join(orchestrator.config.rclone.remote, folder), seeded);
    const app = await registerApp(orchestrator, { name: 'shop', url: contract.url, driveFolderId: folder, retention: 1, ...overrides });
    return { app, folder: join(orchestrator.config.rclone.remote, folder) };
  }

  describe('retention', () => {
    it('never deletes the file the run just stored, and leaves a backup named in the future alone with a warning', async () => {
      contract.setMode({ size: 1000, length: true, checksum: true, framing: 'chunked' });
      const future = 'shop-20990101T000000Z.db';
      const { app, folder } = await freshApp({ retention: 1 }, [...OLD_BACKUPS, future]);

      const run = await runBackup(orchestrator, app.id);
      expect(run.status).toBe('succeeded');
      expect(filesIn(folder)).toEqual([nameOf(run), future].sort());
      const log = run.log.join('\n');
      expect(log).toContain(`${future} is named later than this run`);
      expect(log).not.toContain(`deleted ${nameOf(run)}`);
    });

    it('never leaves fewer than `retention` backups that the history records as succeeded', async () => {
      contract.setMode({ size: 1000, length: true, checksum: true, framing: 'chunked' });
      const { app, folder } = await freshApp({ retention: 2 }, []);
      const recorded = nameOf(await runBackup(orchestrator, app.id));
      // A file nobody recorded, named one second after the recorded backup: it outranks it by name.
      const stamp = /-(\d{8}T\d{6}Z)\./.exec(recorded)![1];
      const at = new Date(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`);
      const stranger = `shop-${new Date(at.getTime() + 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}.db`;
      seed(folder, [stranger]);

      const run = await runBackup(orchestrator, app.id);
      expect(run.status).toBe('succeeded');
      expect(filesIn(folder)).toEqual([recorded, stranger, nameOf(run)].sort());
      expect(run.log.join('\n')).toContain(`retention: kept ${recorded}`);
    });
  });

  describe('framing and empty exports', () => {
    it.each([
      ['a complete body', undefined],
      ['a body that dies half-way', 'abort-mid-stream'],
    ])('refuses a close-delimited export (%s) before storing anything', async (_, behaviour) => {
      contract.setMode({ size: 2 * 1024 * 1024, length: false, checksum: false, framing: 'close', behaviour });
      const { app, folder } = await freshApp({ retention: 1 });
      const run = await runBackup(orchestrator, app.id);
      expectFailed(run, 'export', /neither Content-Length nor chunked Transfer-Encoding.*contract v1 needs one of them/);
      expect(filesIn(folder)).toEqual(OLD_BACKUPS);
    });

    it.each([
      ['with Content-Length: 0', true],
      ['chunked, with no chunk', false],
    ])('fails an empty export (%s), stores nothing and deletes nothing', async (_, length) => {
      contract.setMode({ size: 0, length, checksum: false, framing: 'chunked' });
      const { app, folder } = await freshApp({ retention: 1 });
      const run = await runBackup(orchestrator, app.id);
      expectFailed(run, 'export', 'the app sent an empty backup');
      expect(filesIn(folder)).toEqual(OLD_BACKUPS);
    });
  });

  describe('what an app says in the run log', () => {
    const forged = '2026-01-01T00:00:00.000Z stored 999 bytes as FORGED';

    it('cannot add a line to the run log or the server log, nor bloat them', async () => {
      const serverLog = vi.spyOn(Logger.prototype, 'log');
      contract.setMode({ size: 1000, length: true, checksum: true, framing: 'chunked', type: `x\n${forged}` });
      const { app } = await freshApp({ retention: 5 });
      const run = await runBackup(orchestrator, app.id);
      expect(run.error).toBeNull();
      expect(run.log.some((line) => line.startsWith(forged))).toBe(false);
      expect(run.log.join('\n')).toContain(`type x\\n${forged}`);
      const serverLines = serverLog.mock.calls.map(([message]) => String(message)).filter((message) => message.includes('FORGED'));
      expect(serverLines.length).toBeGreaterThan(0);
      for (const line of serverLines) expect(line).not.toMatch(/[\n\r]/);

      contract.setMode({ type: 'y'.repeat(1_000_000) });
      const big = await runBackup(orchestrator, app.id);
      expect(big.error).toBeNull();
      expect(big.log.join('\n').length).toBeLessThan(4096);
    });

    it('cannot forge the error of a failed run through its versions or error body', async () => {
      contract.setMode({ versions: [`v2\n${forged}`, 'z'.repeat(100_000)], type: 'sqlite' });
      const { app } = await freshApp();
      const refused = await runBackup(orchestrator, app.id);
      expectFailed(refused, 'capabilities', /app offers contract versions/);
      expect(refused.error!.length).toBeLessThan(1024);
      expect(/[\n\r]/.test(refused.error!)).toBe(false);
    });
  });
});

describe('storage failures are blamed on storage', () => {
  let contract: ContractApp;
  beforeAll(async () => {
    contract = await startContractApp();
  });
  afterAll(async () => {
    await contract?.close();
  });

  describe('a local remote on a full disk', () => {
    let orchestrator: Orchestrator;
    let disk: string;
    let mounted = false;

    beforeAll(async () => {
      disk = mkdtempSync(join(tmpdir(), 'orquestador-full-'));
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk], { stdio: 'pipe' });
        mounted = true;
      } catch (error) {
        console.warn(`skipping the full-disk tests: mounting a 1 MiB tmpfs was refused (${(error as Error).message})`);
      }
      orchestrator = await bootOrchestrator({ RCLONE_REMOTE: disk });
    });
    afterAll(async () => {
      await orchestrator?.close();
      if (mounted) execFileSync('umount', [disk]);
      rmSync(disk, { recursive: true, force: true });
    });

    it.each([
      ['with Content-Length (rclone preallocates)', true],
      ['chunked (rclone writes until the disk is full)', false],
    ])('fails in step upload with what rclone said, %s', async (_, length, context) => {
      if (!mounted) return context.skip();
      contract.setMode({ size: 4 * 1024 * 1024, length, checksum: false, framing: 'chunked' });
      const folder = `full-${length}`;
      mkdirSync(join(disk, folder));
      const app = await registerApp(orchestrator, { name: folder, url: contract.url, driveFolderId: folder, retention: 1 });
      const run = await runBackup(orchestrator, app.id);
      expectFailed(run, 'upload', /rclone rcat failed \(exit \d+\): .*(file too big for remaining disk space|no space left on device)/i);
      expect(filesIn(join(disk, folder))).toEqual([]);
    });
  });

  describe('a WebDAV remote', () => {
    /**
     * An orchestrator on its own WebDAV server, which the test may stop. While the test runs, the system
     * temporary folder (what os.tmpdir() and rclone's TMPDIR would be) is a fresh one, to see who uses it.
     */
    async function withWebdav(idleTimeoutS: string, test: (orchestrator: Orchestrator, dav: WebdavRemote, systemTmp: string) => Promise<void>) {
      const dav = await startWebdav();
      let stopped = false;
      const orchestrator = await bootOrchestrator({ RCLONE_REMOTE: 'dav:', RCLONE_CONFIG: dav.configPath, BACKUP_IDLE_TIMEOUT_S: idleTimeoutS });
      const originalTmp = process.env.TMPDIR;
      const systemTmp = mkdtempSync(join(tmpdir(), 'orquestador-systmp-'));
      process.env.TMPDIR = systemTmp;
      try {
        await test(orchestrator, { ...dav, stop: () => ((stopped = true), dav.stop()) }, systemTmp);
      } finally {
        if (originalTmp === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = originalTmp;
        rmSync(systemTmp, { recursive: true, force: true });
        await orchestrator.close();
        if (!stopped) await dav.stop();
      }
    }

    /** Starts a slow backup and stops the WebDAV server once half a megabyte went through. */
    async function stopMidUpload(orchestrator: Orchestrator, dav: WebdavRemote): Promise<RunBody> {
      contract.setMode({ size: 8 * 1024 * 1024, length: true, checksum: true, framing: 'chunked', delayMs: 20 });
      const app = await registerApp(orchestrator, { name: 'gone', url: contract.url, driveFolderId: 'gone', retention: 1 });
      const { runId } = (await orchestrator.api.post(`/api/apps/${app.id}/run`).expect(202)).body;
      await waitFor(async () => ((await orchestrator.api.get(`/api/runs/${runId}`)).body.bytes > 512 * 1024 ? true : undefined));
      await dav.stop();
      return waitForRunEnd(orchestrator, runId);
    }

    it('spools an upload of unknown size only under its own tmp folder, and empties it', () =>
      withWebdav('30', async (orchestrator, _dav, systemTmp) => {
        // Unknown size into WebDAV vendor "other": rclone spools the whole stream before uploading.
        contract.setMode({ size: 1024 * 1024, length: false, checksum: false, framing: 'chunked', delayMs: 20 });
        const app = await registerApp(orchestrator, { name: 'spool', url: contract.url, driveFolderId: 'spool', retention: 1 });
        const { runId } = (await orchestrator.api.post(`/api/apps/${app.id}/run`).expect(202)).body;
        await waitFor(() => (filesIn(orchestrator.config.tmpDir).length > 0 ? true : undefined));
        expect(statSync(orchestrator.config.tmpDir).mode & 0o777).toBe(0o700);
        expect((await waitForRunEnd(orchestrator, runId)).status).toBe('succeeded');
        expect(readdirSync(systemTmp)).toEqual([]);
        expect(readdirSync(orchestrator.config.tmpDir)).toEqual([]);
      }));

    it('fails in step upload with what rclone said when the server stops mid-upload', () =>
      withWebdav('30', async (orchestrator, dav) => {
        expectFailed(await stopMidUpload(orchestrator, dav), 'upload', /rclone rcat failed \(exit \d+\): \S/);
      }));

    it('blames the remote, not the app, when rclone stops taking data', () =>
      withWebdav('2', async (orchestrator, dav) => {
        const run = await stopMidUpload(orchestrator, dav);
        expectFailed(run, 'upload', /rclone took no data for 2 s \(BACKUP_IDLE_TIMEOUT_S\) while the app was sending: the remote stalled/);
      }));
  });
});
