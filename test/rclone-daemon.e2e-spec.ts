import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Of, startContractApp } from './support/contract-app.mjs';
import { expectFailed, filesIn, registerApp, runBackup, seed, sha256File } from './support/backups';
import { bootOrchestrator, Orchestrator, waitFor } from './support/orchestrator';
import { servicePort, start, waitForHttp } from './support/processes';
import { startWebdav } from './support/webdav';

/** The `rclone rcd` the service running in process `parent` (this one by default) started. */
function daemonPid(parent = process.pid): number | undefined {
  const out = execFileSync('ps', ['--ppid', String(parent), '-o', 'pid=,args='], { encoding: 'utf8' });
  const line = out.split('\n').find((row) => / rcd /.test(row));
  return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
}

describe('rclone as one long-lived rclone rcd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orquestador-rclone-bin-'));
  const bin = join(dir, 'rclone');
  const journal = join(dir, 'started');
  /** RCLONE_BIN: notes each command it is started for, then is the real rclone (exec keeps the pid). */
  const realRclone = () => writeFileSync(bin, `#!/bin/sh\necho "$1" >> '${journal}'\nexec rclone "$@"\n`, { mode: 0o755 });
  const started = () => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter(Boolean) : []);
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;

  beforeAll(async () => {
    realRclone();
    orchestrator = await bootOrchestrator({ RCLONE_BIN: bin });
    contract = await startContractApp();
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
  });

  const rcloneCheck = async () => (await orchestrator.api.get('/api/health').expect(200)).body.checks.rclone;

  it('answers health from the running daemon, without a process per call', async () => {
    for (let i = 0; i < 5; i++) expect(await rcloneCheck()).toEqual({ status: 'ok', version: expect.stringMatching(/^rclone v1\./) });
    expect(started()).toEqual(['rcd']);
  });

  it.each([
    ['a small backup (64 KiB) without any rclone process: it goes through the daemon', 64 * 1024, true, []],
    ['a large backup (2 MiB) with one, the upload', 2 * 1024 * 1024, true, ['rcat']],
    ['a backup of unknown size with one, the upload', 64 * 1024, false, ['rcat']],
  ])('runs %s', async (_, size, length, processes) => {
    contract.setMode({ size, length, checksum: true, framing: 'chunked' });
    const app = await registerApp(orchestrator, { name: `size-${size}-${length}`, url: contract.url, driveFolderId: 'sized', retention: 1 });
    const before = started().length;
    const run = await runBackup(orchestrator, app.id);
    expect(run).toMatchObject({ status: 'succeeded', bytes: size });
    expect(sha256File(run.remotePath!)).toBe(sha256Of(size));
    expect(started().slice(before)).toEqual(processes);
  });

  it('survives rclone dying: health says why while it cannot start, and it is started again once it can', async () => {
    const first = daemonPid()!;
    writeFileSync(bin, '#!/bin/sh\necho "rclone: cannot execute: broken installation" >&2\nexit 1\n');
    process.kill(first, 'SIGKILL');

    const broken = await rcloneCheck();
    expect(broken).toEqual({ status: 'error', error: expect.stringContaining('broken installation') });
    expect((await orchestrator.api.get('/api/health').expect(200)).body.status).toBe('degraded');

    realRclone();
    expect(await rcloneCheck()).toMatchObject({ status: 'ok' });
    expect(daemonPid()).not.toBe(first);
    const [app] = (await orchestrator.api.get('/api/apps')).body;
    expect((await runBackup(orchestrator, app.id)).status).toBe('succeeded');
  });
});

describe.each([
  ['a local folder', async () => ({ env: {}, rootOf: (o: Orchestrator) => o.config.rclone.remote, stop: async () => {} })],
  ['WebDAV', async () => {
    const dav = await startWebdav();
    return { env: { RCLONE_REMOTE: 'dav:', RCLONE_CONFIG: dav.configPath }, rootOf: () => dav.root, stop: dav.stop };
  }],
])('small uploads through the daemon into %s', (_, makeRemote) => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let root: string;
  let stopRemote: () => Promise<void>;

  beforeAll(async () => {
    const remote = await makeRemote();
    stopRemote = remote.stop;
    orchestrator = await bootOrchestrator(remote.env);
    root = remote.rootOf(orchestrator);
    contract = await startContractApp();
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
    await stopRemote?.();
  });

  // 64 KiB fit in the socket buffers: the app's reset can reach us before or after we read its headers, so
  // either words are right (the kernel drops the unread bytes when the reset arrives first).
  const cutOff = /connection to the app broke after \d+ bytes|connection to 127\.0\.0\.1:\d+ was reset by the app/;
  it.each([
    ['abort-mid-stream', cutOff],
    ['short-body', cutOff],
    ['wrong-checksum', /differs from X-Backup-Sha256/],
  ])('fails a 64 KiB export that breaks or lies (%s) at export, and stores nothing', async (behaviour, error) => {
    contract.setMode({ size: 64 * 1024, length: true, checksum: true, framing: 'chunked', chunkSize: 8 * 1024, behaviour });
    const folder = `small-${behaviour}`;
    seed(join(root, folder), ['shop-20250101T000000Z.db']);
    const app = await registerApp(orchestrator, { name: 'shop', url: contract.url, driveFolderId: folder, retention: 1 });
    expectFailed(await runBackup(orchestrator, app.id), 'export', error);
    expect(filesIn(join(root, folder))).toEqual(['shop-20250101T000000Z.db']);
    await orchestrator.api.delete(`/api/apps/${app.id}`).expect(204);
  });
});

describe('rclone rcd and a service killed with kill -9', () => {
  it('goes with it instead of living on unreachable', async () => {
    const port = String(await servicePort());
    const service = start(process.execPath, ['dist/main.js'], {
      env: { PATH: process.env.PATH, DATA_DIR: mkdtempSync(join(tmpdir(), 'orquestador-kill-')), PORT: port, HOST: '127.0.0.1', ADMIN_PASSWORD: 'test-password-123' },
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/api/health`);
      const daemon = await waitFor(() => daemonPid(service.child.pid));
      service.child.kill('SIGKILL');
      // Gone, or a zombie waiting for init to reap it: either way no longer running.
      await waitFor(() => (!existsSync(`/proc/${daemon}`) || /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${daemon}/stat`, 'utf8')) ? true : undefined));
    } finally {
      await service.stop();
    }
  });
});
