import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { registerApp, RunBody, runBackup, waitForRunEnd } from './support/backups';
import { bootOrchestrator, Orchestrator } from './support/orchestrator';

// Capabilities may say the app's version (#18): recorded with every backup, compared with the app's on restore.
describe("the app's version with every backup", () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let appId: number;
  let backup: RunBody & { backupName: string; app: unknown };
  const V1 = { name: 'billing', version: '4.2.0', schemaVersion: '2026_11_01' };

  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
    contract = await startContractApp();
    appId = (await registerApp(orchestrator, { name: 'ledger', url: contract.url, driveFolderId: 'ledger', retention: 10 })).id;
    contract.setMode({ size: 64 * 1024, app: V1 });
    backup = (await runBackup(orchestrator, appId)) as typeof backup;
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
  });

  const runsOfApp = async () => (await orchestrator.api.get(`/api/apps/${appId}/runs?limit=200`).expect(200)).body.length;
  const restore = (body: object) => orchestrator.api.post(`/api/apps/${appId}/restore`, { backup: backup.backupName, ...body });

  it('records it with the backup run, shows it on the run and in the backups list, and logs it', async () => {
    expect(backup.status).toBe('succeeded');
    expect(backup.app).toEqual(V1);
    expect(backup.log.join('\n')).toContain('capabilities: app billing, version 4.2.0, schema version 2026_11_01');
    const listed = (await orchestrator.api.get(`/api/apps/${appId}/backups`).expect(200)).body;
    expect(listed.find((file: { name: string }) => file.name === backup.backupName).app).toEqual(V1);
  });

  it('refuses (400, naming both versions) to restore a backup with a newer schema than the app runs now, without a run', async () => {
    contract.setMode({ app: { ...V1, version: '4.1.0', schemaVersion: '2026_9_30' } });
    const before = await runsOfApp();
    const refused = await restore({}).expect(400);
    expect(refused.body.message).toBe(
      `${backup.backupName} was made with schema version 2026_11_01, newer than the 2026_9_30 the app runs now: restoring it could break the app; upgrade the app first, or send "force": true`,
    );
    await restore({ force: false }).expect(400);
    expect(await runsOfApp()).toBe(before);
    expect(contract.imports).toHaveLength(0);
  });

  it('restores it anyway with force: true, and the log says both versions', async () => {
    contract.setMode({ app: { ...V1, schemaVersion: '2026_9_30' } });
    const run = await waitForRunEnd(orchestrator, (await restore({ force: true }).expect(202)).body.runId);
    expect(run.status).toBe('succeeded');
    expect(run.log.join('\n')).toContain('newer than the 2026_9_30 the app runs now');
    expect(run.log.join('\n')).toContain('restoring anyway, as asked (force)');
    expect(contract.imports.at(-1)!.complete).toBe(true);
  });

  it.each([
    ['the same', '2026_11_01', 'schema versions: backup 2026_11_01, app now 2026_11_01: the same'],
    ['older', '2026_12_01', "schema versions: backup 2026_11_01, app now 2026_12_01: the backup's is older"],
    ['none announced now', undefined, 'schema versions not compared: backup 2026_11_01, the app announces none now'],
  ])('restores a backup whose schema is %s, and the log states both', async (_, schemaVersion, line) => {
    contract.setMode({ app: schemaVersion === undefined ? undefined : { ...V1, schemaVersion } });
    const run = await waitForRunEnd(orchestrator, (await restore({}).expect(202)).body.runId);
    expect(run.status).toBe('succeeded');
    expect(run.log.join('\n')).toContain(line);
  });

  it('records nothing for an app that says nothing, and restores its backups without comparing', async () => {
    contract.setMode({ app: undefined });
    const silent = (await runBackup(orchestrator, appId)) as typeof backup;
    expect(silent.app).toBeNull();
    expect(silent.log.join('\n')).not.toContain('capabilities: app ');
    contract.setMode({ app: { schemaVersion: '1' } });
    const body = (await orchestrator.api.post(`/api/apps/${appId}/restore`, { backup: silent.backupName }).expect(202)).body;
    const run = await waitForRunEnd(orchestrator, body.runId);
    expect(run.log.join('\n')).toContain('schema versions not compared: the backup recorded none (app now 1)');
  });

  it('keeps what an app says short and on one line', async () => {
    contract.setMode({ app: { name: 'x'.repeat(10_000), version: 'line\nforged 999 bytes', schemaVersion: 7 } });
    const run = (await runBackup(orchestrator, appId)) as RunBody & { app: { name: string; version: string; schemaVersion: string } };
    expect(run.app.name.length).toBeLessThanOrEqual(100);
    expect(run.app.version).toBe('line\\nforged 999 bytes');
    expect(run.app.schemaVersion).toBe('7');
  });
});
