import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Of, startContractApp } from './support/contract-app.mjs';
import { expectFailed, registerApp, RunBody, runBackup, waitForRunEnd } from './support/backups';
import { bootOrchestrator, Orchestrator } from './support/orchestrator';

const SIZE = 2 * 1024 * 1024 + 5;

describe('restore, download and verify', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let appId: number;
  let backup: RunBody;

  beforeAll(async () => {
    contract = await startContractApp();
    orchestrator = await bootOrchestrator();
    contract.setMode({ size: SIZE });
    appId = (await registerApp(orchestrator, { name: 'vault', url: contract.url, driveFolderId: 'vault', retention: 5 })).id;
    backup = await runBackup(orchestrator, appId);
    expect(backup.status).toBe('succeeded');
  });
  afterAll(async () => {
    await orchestrator.close();
    await contract.close();
  });

  const startRestore = async (name: string) => {
    const { body } = await orchestrator.api.post(`/api/apps/${appId}/restore`, { backup: name }).expect(202);
    return waitForRunEnd(orchestrator, body.runId);
  };

  it('restores a backup byte for byte, with its recorded checksum, as a run of kind "restore"', async () => {
    contract.setMode({});
    const run = await startRestore(backup.backupName!);
    expect(run).toMatchObject({ kind: 'restore', status: 'succeeded', bytes: SIZE, sha256: sha256Of(SIZE), backupName: backup.backupName });
    expect(contract.imports.at(-1)).toEqual({ bytes: SIZE, sha256: sha256Of(SIZE), complete: true, announcedSha256: sha256Of(SIZE) });
    expect((await orchestrator.api.get(`/api/runs/${backup.id}`).expect(200)).body.kind).toBe('backup');
    // A restore makes no backup: the app's last success is still the backup's.
    expect((await orchestrator.api.get(`/api/apps/${appId}`).expect(200)).body.lastSuccessAt).toBe(backup.finishedAt);
  });

  it.each([
    ['import-401', /^import: app answered 401: check the token/],
    ['import-409', /^import: app answered 409: it is busy/],
    ['import-422', /^import: app answered 422: it refuses this backup: \{"error":"schema version 7 is newer than this app"\}/],
    ['import-500', /^import: app answered 500/],
    ['import-close', /^import: /],
  ])('fails clearly when the app misbehaves on import (%s)', async (behaviour, error) => {
    contract.setMode({ behaviour });
    const run = await startRestore(backup.backupName!);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(error);
  });

  it('refuses bad names, unknown apps and apps that do not announce restore', async () => {
    contract.setMode({});
    for (const name of ['../etc/passwd', 'vault-20990101T000000Z.db', 'other-20250101T000000Z.db', '']) {
      await orchestrator.api.post(`/api/apps/${appId}/restore`, { backup: name }).expect(400);
      await orchestrator.api.get(`/api/apps/${appId}/backups/${encodeURIComponent(name || 'x')}/download`).expect(400);
    }
    await orchestrator.api.post('/api/apps/999/restore', { backup: backup.backupName }).expect(404);
    contract.setMode({ behaviour: 'no-restore' });
    const refused = await orchestrator.api.post(`/api/apps/${appId}/restore`, { backup: backup.backupName }).expect(400);
    expect(refused.body.message).toBe('vault does not announce "restore": true in its capabilities');
  });

  it('downloads exactly the stored bytes as an attachment', async () => {
    const response = await orchestrator.api
      .get(`/api/apps/${appId}/backups/${backup.backupName}/download`)
      .buffer(true)
      .parse((res, callback) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => callback(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(response.headers['content-disposition']).toBe(`attachment; filename="${backup.backupName}"`);
    expect(Number(response.headers['content-length'])).toBe(SIZE);
    expect(createHash('sha256').update(response.body as Buffer).digest('hex')).toBe(sha256Of(SIZE));
  });

  it('verifies the newest backup, shows it in the listing, and fails a tampered file whose restore never completes', async () => {
    const ok = (await orchestrator.api.post(`/api/apps/${appId}/verify`).expect(202)).body.runId;
    expect(await waitForRunEnd(orchestrator, ok)).toMatchObject({ kind: 'verify', status: 'succeeded', backupName: backup.backupName });
    const listed = (await orchestrator.api.get(`/api/apps/${appId}/backups`).expect(200)).body;
    expect(listed[0]).toMatchObject({ name: backup.backupName, verified: true, verifiedAt: expect.any(String) });

    // Change one byte in the middle of the stored file, as bit rot or tampering would.
    const path = backup.remotePath!;
    const bytes = readFileSync(path);
    bytes[1_000_000] ^= 0xff;
    writeFileSync(path, bytes);

    const bad = (await orchestrator.api.post(`/api/apps/${appId}/verify`, { backup: backup.backupName }).expect(202)).body.runId;
    expectFailed(await waitForRunEnd(orchestrator, bad), 'read', /differs from the SHA-256 recorded at backup time/);
    expect((await orchestrator.api.get(`/api/apps/${appId}/backups`).expect(200)).body[0]).toMatchObject({ verified: false });

    contract.setMode({});
    const importsBefore = contract.imports.length;
    const restore = await startRestore(backup.backupName!);
    expectFailed(restore, 'read', /differs from the SHA-256 recorded at backup time/);
    const received = contract.imports.slice(importsBefore);
    expect(received.every((record) => !record.complete)).toBe(true);
  });

  it('fails verify for a recorded backup that has gone missing from the remote', async () => {
    contract.setMode({ size: 1000 });
    const second = await runBackup(orchestrator, appId);
    rmSync(second.remotePath!);
    const { body } = await orchestrator.api.post(`/api/apps/${appId}/verify`).expect(202);
    const run = await waitForRunEnd(orchestrator, body.runId);
    expect(run.backupName).toBe(second.backupName);
    expectFailed(run, 'read', `${second.backupName} is missing from the remote`);
    await orchestrator.api.post(`/api/apps/${appId}/verify`, { backup: 'x/../../etc' }).expect(400);
  });
});
