import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Of, startContractApp } from './support/contract-app.mjs';
import { expectFailed, filesIn, registerApp, runBackup } from './support/backups';
import { bootOrchestrator, Orchestrator } from './support/orchestrator';

// A streamed export learns its SHA-256 only at the end: contract v1 lets the app send it as an HTTP trailer (#18).
describe('end-to-end checksum as an HTTP trailer', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let appId: number;
  let folder: string;
  // Over SMALL_UPLOAD_BYTES, so that the bytes stream into rclone rcat; the small path is checked once too.
  const SIZE = 3 * 1024 * 1024 + 7;

  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
    contract = await startContractApp();
    appId = (await registerApp(orchestrator, { name: 'stream', url: contract.url, driveFolderId: 'stream', retention: 10 })).id;
    folder = join(orchestrator.config.rclone.remote, 'stream');
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
  });

  it('asks for trailers, checks a matching one and says so in the log ("trailer")', async () => {
    for (const size of [SIZE, 4096]) {
      contract.setMode({ size, length: false, checksum: false, trailer: true });
      const run = await runBackup(orchestrator, appId);
      expect(run.status).toBe('succeeded');
      expect(run.sha256).toBe(sha256Of(size));
      expect(contract.headers.at(-1)!.te).toBe('trailers');
      expect(run.log.join('\n')).toContain('end-to-end checksum from the app: trailer; it matches the bytes received');
    }
  });

  it('says "header" and "none" for the other two ways', async () => {
    contract.setMode({ size: SIZE, length: true, checksum: true, trailer: false });
    expect((await runBackup(orchestrator, appId)).log.join('\n')).toContain('end-to-end checksum from the app: header;');
    contract.setMode({ size: SIZE, length: false, checksum: false, trailer: false });
    expect((await runBackup(orchestrator, appId)).log.join('\n')).toContain('end-to-end checksum from the app: none;');
    contract.setMode({ size: SIZE, length: false, checksum: true, trailer: true });
    expect((await runBackup(orchestrator, appId)).log.join('\n')).toContain('end-to-end checksum from the app: header and trailer;');
  });

  it.each([
    ['a wrong trailer', { trailer: 'wrong' }, /^export: SHA-256 of the bytes app sent \([0-9a-f]{64}\) differs from the X-Backup-Sha256 trailer \((cd){32}\)$/],
    ['an announced trailer never sent', { trailer: 'announced-only' }, /^export: app announced an X-Backup-Sha256 trailer \(Trailer header\) but did not send it after the body/],
    ['a header and a trailer that disagree', { checksum: true, trailer: 'wrong' }, /^export: app's X-Backup-Sha256 header \([0-9a-f]{64}\) and trailer \((cd){32}\) disagree$/],
    ['a right trailer beside a wrong header', { checksum: true, trailer: true, behaviour: 'wrong-checksum' }, /^export: app's X-Backup-Sha256 header \((ab){32}\) and trailer \([0-9a-f]{64}\) disagree$/],
  ])('fails the run on %s and leaves no file under a final name (nor a temporary one)', async (_, mode, error) => {
    const before = filesIn(folder);
    for (const size of [SIZE, 4096]) {
      contract.setMode({ size, length: false, checksum: false, ...mode });
      const run = await runBackup(orchestrator, appId);
      expectFailed(run, 'export', error);
      expect(run.backupName).toBeNull();
      expect(filesIn(folder)).toEqual(before);
    }
  });
});
