import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { registerApp, runBackup } from './support/backups';
import { bootOrchestrator, Orchestrator } from './support/orchestrator';

/** The `rclone rcd` the service (running in this process) started. */
function daemonPid(): number | undefined {
  const out = execFileSync('ps', ['--ppid', String(process.pid), '-o', 'pid=,args='], { encoding: 'utf8' });
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

  it('runs a small backup with one rclone process, the upload; listing, renaming and checking go through the daemon', async () => {
    contract.setMode({ size: 64 * 1024, length: true, checksum: true, framing: 'chunked' });
    const app = await registerApp(orchestrator, { name: 'small', url: contract.url, driveFolderId: 'small', retention: 1 });
    const before = started().length;
    const run = await runBackup(orchestrator, app.id);
    expect(run.status).toBe('succeeded');
    expect(started().slice(before)).toEqual(['rcat']);
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
    const app = (await orchestrator.api.get('/api/apps')).body.find((row: { name: string }) => row.name === 'small');
    expect((await runBackup(orchestrator, app.id)).status).toBe('succeeded');
  });
});
