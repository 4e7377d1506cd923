import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sha256Of, startContractApp } from './support/contract-app.mjs';
import { expectFailed, filesIn, registerApp, runBackup, seed, sha256File } from './support/backups';
import { bootOrchestrator, Orchestrator } from './support/orchestrator';
import { startWebdav, WebdavRemote } from './support/webdav';

type ContractApp = Awaited<ReturnType<typeof startContractApp>>;

/** Each remote: how to configure the orchestrator for it, and where its files land on disk. */
const remotes = {
  'local folder': async () => ({ env: {}, rootOf: (o: Orchestrator) => o.config.rclone.remote, stop: async () => {} }),
  'WebDAV (rclone serve webdav)': async () => {
    const dav: WebdavRemote = await startWebdav();
    return { env: { RCLONE_REMOTE: 'dav:', RCLONE_CONFIG: dav.configPath }, rootOf: () => dav.root, stop: dav.stop };
  },
};

const OLD_BACKUPS = ['shop-20250101T000000Z.db', 'shop-20250102T000000Z.db'];

describe.each(Object.entries(remotes))('backups into a %s remote', (_, makeRemote) => {
  let orchestrator: Orchestrator;
  let contract: ContractApp;
  let root: string;
  let stopRemote: () => Promise<void>;
  let counter = 0;

  beforeAll(async () => {
    const remote = await makeRemote();
    stopRemote = remote.stop;
    orchestrator = await bootOrchestrator({ ...remote.env, BACKUP_IDLE_TIMEOUT_S: '1', BACKUP_CONNECT_TIMEOUT_S: '1' });
    root = remote.rootOf(orchestrator);
    contract = await startContractApp({ token: 'test-token' });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
    await stopRemote?.();
  });

  /** A fresh app with its own folder, holding two older backups that a failure must leave alone. */
  async function freshApp(overrides: Record<string, unknown> = {}) {
    const folder = `folder-${++counter}`;
    seed(join(root, folder), OLD_BACKUPS);
    const app = await registerApp(orchestrator, { name: 'shop', url: contract.url, driveFolderId: folder, retention: 5, ...overrides });
    return { app, folder: join(root, folder) };
  }

  afterEach(async () => {
    for (const app of (await orchestrator.api.get('/api/apps')).body) await orchestrator.api.delete(`/api/apps/${app.id}`);
  });

  it.each([
    ['with Content-Length and X-Backup-Sha256', { length: true, checksum: true }],
    ['streamed chunked, with neither', { length: false, checksum: false }],
  ])('stores every byte the app sent, %s', async (_, announce) => {
    const size = 3 * 1024 * 1024 + 17;
    contract.setMode({ size, ...announce });
    const { app, folder } = await freshApp();
    const run = await runBackup(orchestrator, app.id);

    expect(run).toMatchObject({ status: 'succeeded', trigger: 'manual', bytes: size, sha256: sha256Of(size), error: null });
    const name = run.remotePath!.split(/[/:]/).pop()!;
    expect(name).toMatch(/^shop-\d{8}T\d{6}Z\.db$/);
    expect(filesIn(folder)).toEqual([...OLD_BACKUPS, name].sort());
    expect(sha256File(join(folder, name))).toBe(sha256Of(size));
    expect(run.log.join('\n')).toMatch(/capabilities: contract v1, type sqlite[\s\S]*export started[\s\S]*stored \d+ bytes/);

    const listed = (await orchestrator.api.get(`/api/apps/${app.id}/backups`).expect(200)).body;
    expect(listed.map((file: { name: string }) => file.name)).toEqual([name, ...OLD_BACKUPS.slice().reverse()]);
    expect(listed[0]).toMatchObject({ size, modifiedAt: expect.any(String) });
  });

  it.each([
    ['unauthorized', 'capabilities', /app answered 401: check the token/],
    ['v2-only', 'capabilities', /app offers contract versions \[v2\]; app-orquestador needs v1/],
    ['never-answer', 'capabilities', /no answer from 127\.0\.0\.1:\d+ within 1 s/],
    ['silent-export', 'export', /app sent no data for 1 s \(BACKUP_IDLE_TIMEOUT_S\): stalled/],
    ['busy', 'export', /app answered 409: it is busy/],
    ['fail', 'export', /app answered 500: \{"error":"database is locked"\}/],
    ['redirect', 'export', /app answered 302 redirect to http:\/\/127\.0\.0\.1:1\/steal-token; redirects are not followed/],
    ['abort-mid-stream', 'export', /connection to the app broke after \d+ bytes/],
    ['stall-mid-stream', 'export', /app sent no data for 1 s \(BACKUP_IDLE_TIMEOUT_S\): stalled/],
    ['wrong-checksum', 'export', /differs from X-Backup-Sha256/],
  ])('when the app misbehaves (%s) the run fails at %s, leaves no file and deletes nothing', async (behaviour, step, error) => {
    contract.setMode({ size: 4 * 1024 * 1024, length: true, checksum: true, behaviour });
    const { app, folder } = await freshApp({ retention: 1 });
    const exportsBefore = contract.requests.filter((r) => r.includes('export')).length;
    const run = await runBackup(orchestrator, app.id);

    expectFailed(run, step, error);
    expect(filesIn(folder)).toEqual(OLD_BACKUPS);
    if (step === 'capabilities') expect(contract.requests.filter((r) => r.includes('export')).length).toBe(exportsBefore);
  });

  it('fails a chunked stream that breaks, without a Content-Length to compare against', async () => {
    contract.setMode({ size: 4 * 1024 * 1024, length: false, checksum: false, behaviour: 'abort-mid-stream' });
    const { app, folder } = await freshApp({ retention: 1 });
    expectFailed(await runBackup(orchestrator, app.id), 'export', /connection to the app broke/);
    expect(filesIn(folder)).toEqual(OLD_BACKUPS);
  });

  it('keeps exactly the N newest backups of this app and touches nothing else', async () => {
    contract.setMode({ size: 1000, length: true, checksum: true });
    const { app, folder } = await freshApp({ retention: 2 });
    const others = ['shop-2-20250103T000000Z.db', 'notes.txt', 'shop-20250103T000000Z.db.bak', 'shopping-20200101T000000Z.db'];
    const staleTemp = '.shop-20250103T000000Z.db.run1.partial';
    seed(folder, ['shop-20250103T000000Z.db', 'shop-20241231T235959Z.tar.gz', staleTemp, ...others]);

    const run = await runBackup(orchestrator, app.id);
    expect(run.status).toBe('succeeded');
    const name = run.remotePath!.split(/[/:]/).pop()!;
    expect(filesIn(folder)).toEqual([name, 'shop-20250103T000000Z.db', ...others].sort());
    expect(run.log.join('\n')).toContain('retention: deleted shop-20250101T000000Z.db');
  });

  it('names two runs that start in the same second differently', async () => {
    contract.setMode({ size: 10, length: true, checksum: true });
    const { app, folder } = await freshApp({ retention: 10 });
    const first = await runBackup(orchestrator, app.id);
    const second = await runBackup(orchestrator, app.id);
    expect(first.remotePath).not.toBe(second.remotePath);
    expect(filesIn(folder)).toHaveLength(OLD_BACKUPS.length + 2);
  });
});
