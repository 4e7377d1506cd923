import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenCipher } from '../src/apps/token-cipher';
import { loadConfig } from '../src/config/load-config';
import { MIGRATIONS } from '../src/database/database.options';
import { Destinations1765300000001 } from '../src/database/migrations/1765300000001-destinations';
import { exportBytes, sha256Of, startContractApp } from './support/contract-app.mjs';
import { filesIn, registerApp, RunBody, runBackup, seed, sha256File, waitForRunEnd } from './support/backups';
import { ADMIN, bootOrchestrator, csrfOf, Orchestrator, waitFor } from './support/orchestrator';
import { onPostgres } from './support/postgres';
import { startWebdav, WebdavRemote } from './support/webdav';

type ContractApp = Awaited<ReturnType<typeof startContractApp>>;
interface Copy { destination: string; status: string; remotePath: string | null; bytes: number; error: string | null }
type CopiedRun = RunBody & { destinations: Copy[] };

const SIZE = 3 * 1024 * 1024 + 5; // through rclone rcat on the worker thread
const isTemporary = (name: string) => name.startsWith('.') && name.endsWith('.partial');

describe('destinations (3-2-1)', () => {
  let orchestrator: Orchestrator;
  let contract: ContractApp;
  let dav: WebdavRemote;
  let counter = 0;

  beforeAll(async () => {
    orchestrator = await bootOrchestrator({ BACKUP_IDLE_TIMEOUT_S: '6' });
    contract = await startContractApp({ token: 'test-token' });
    dav = await startWebdav();
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
    await dav?.stop();
  });

  async function destination(remote: string, name = `copy-${++counter}`): Promise<{ id: number; name: string }> {
    return (await orchestrator.api.post('/api/destinations', { name, remote }).expect(201)).body;
  }
  const localFolder = () => mkdtempSync(join(tmpdir(), 'orquestador-destination-'));
  const defaultRoot = () => orchestrator.config.rclone.remote;

  it('manages destinations: the built-in default first, 400/404/409 like apps, and a check that lists the remote', async () => {
    const list = (await orchestrator.api.get('/api/destinations').expect(200)).body;
    expect(list[0]).toMatchObject({ id: 1, name: 'default', builtIn: true, remote: orchestrator.config.rclone.remote });

    const created = await destination(localFolder(), 'offsite');
    expect(created).toMatchObject({ name: 'offsite', builtIn: false, encryption: 'none', hasEncryptionPassphrase: false, apps: 0 });
    await orchestrator.api.post('/api/destinations', { name: 'offsite', remote: localFolder() }).expect(409);
    await orchestrator.api.post('/api/destinations', { name: 'default', remote: localFolder() }).expect(409);
    const bad = await orchestrator.api.post('/api/destinations', { name: 'Bad Name', remote: 'relative/folder' }).expect(400);
    expect(bad.body.details.map((problem: { field: string }) => problem.field).sort()).toEqual(['name', 'remote']);
    await orchestrator.api.get('/api/destinations/999').expect(404);
    await orchestrator.api.patch('/api/destinations/1', { remote: localFolder() }).expect(409);
    await orchestrator.api.delete('/api/destinations/1').expect(409);

    expect((await orchestrator.api.post(`/api/destinations/${created.id}/check`).expect(200)).body).toEqual({ ok: true, type: 'local', error: null });
    const nowhere = await destination('nowhere-remote:');
    const check = (await orchestrator.api.post(`/api/destinations/${nowhere.id}/check`).expect(200)).body;
    expect(check.ok).toBe(false);
    expect(check.error).toMatch(/nowhere-remote/);
    const secret = await destination(`:webdav,url='http://127.0.0.1:1/',pass=hunter2:`);
    expect(JSON.stringify((await orchestrator.api.get(`/api/destinations/${secret.id}`).expect(200)).body)).not.toContain('hunter2');
    const audited = JSON.stringify((await orchestrator.api.get('/api/audit?action=destination.create').expect(200)).body);
    expect(audited).toContain('pass=***');
    expect(audited).not.toContain('hunter2');

    // In use: refused; once no app uses it, deleted.
    const app = await registerApp(orchestrator, { name: 'crud-user', driveFolderId: undefined, destinations: [{ destinationId: 'offsite', folder: 'crud' }] });
    await orchestrator.api.delete(`/api/destinations/${created.id}`).expect(409);
    expect((await orchestrator.api.get(`/api/destinations/${created.id}`).expect(200)).body.apps).toBe(1);
    await orchestrator.api.delete(`/api/apps/${app.id}`).expect(204);
    await orchestrator.api.delete(`/api/destinations/${created.id}`).expect(204);
    await orchestrator.api.get(`/api/destinations/${created.id}`).expect(404);
  });

  it('takes an app\'s destinations as a list, keeps driveFolderId as the first one\'s folder, and refuses bad lists naming the field', async () => {
    const second = await destination(localFolder());
    const app = await registerApp(orchestrator, { name: 'lists', driveFolderId: undefined, destinations: [{ destinationId: 1, folder: 'lists' }, { destinationId: second.id, folder: 'lists-b', retention: 1 }] });
    const shown = (await orchestrator.api.get(`/api/apps/${app.id}`).expect(200)).body;
    expect(shown.driveFolderId).toBe('lists');
    expect(shown.destinations).toEqual([
      { destinationId: 1, destination: 'default', folder: 'lists', retention: null, keepDaily: null, keepWeekly: null, keepMonthly: null, keepYearly: null },
      { destinationId: second.id, destination: second.name, folder: 'lists-b', retention: 1, keepDaily: null, keepWeekly: null, keepMonthly: null, keepYearly: null },
    ]);
    // driveFolderId alone moves the first destination's folder and leaves the rest.
    const moved = (await orchestrator.api.patch(`/api/apps/${app.id}`, { driveFolderId: 'lists-moved' }).expect(200)).body;
    expect(moved.destinations.map((d: { folder: string }) => d.folder)).toEqual(['lists-moved', 'lists-b']);
    // An app registered the old way stores in default.
    const old = await registerApp(orchestrator, { name: 'old-way', driveFolderId: 'old-way' });
    expect((await orchestrator.api.get(`/api/apps/${old.id}`).expect(200)).body.destinations).toMatchObject([{ destinationId: 1, destination: 'default', folder: 'old-way' }]);

    const refuse = async (destinations: unknown, field: string, extra: Record<string, unknown> = {}) => {
      const { body } = await orchestrator.api.patch(`/api/apps/${app.id}`, { destinations, ...extra }).expect(400);
      expect(body.details.map((problem: { field: string }) => problem.field)).toContain(field);
    };
    await refuse([], 'destinations');
    await refuse([{ destinationId: 999, folder: 'x' }], 'destinations[0].destinationId');
    await refuse([{ destinationId: 1, folder: 'x' }, { destinationId: 'default', folder: 'y' }], 'destinations[1].destinationId');
    await refuse([{ destinationId: 1, folder: '../escape' }], 'destinations[0].folder');
    await refuse([{ destinationId: 1, folder: 'x', retention: 0 }], 'destinations[0].retention');
    await refuse([{ destinationId: 1, folder: 'x' }], 'driveFolderId', { driveFolderId: 'y' });
    await orchestrator.api.post('/api/apps', { name: 'nowhere', url: contract.url, token: 't', schedule: '0 3 * * *', retention: 1 }).expect(400);
  });

  it('stores one export in three destinations at once (local, local, WebDAV), each copy whole, and reads any of them', async () => {
    const local = localFolder();
    const second = await destination(local);
    const third = await destination(dav.remote);
    contract.setMode({ size: SIZE, delayMs: 0, behaviour: undefined });
    const exportsBefore = contract.exports.length;
    const app = await registerApp(orchestrator, {
      name: 'three', url: contract.url, driveFolderId: undefined, retention: 5,
      destinations: [{ destinationId: 1, folder: 'three' }, { destinationId: second.id, folder: 'three-local' }, { destinationId: third.id, folder: 'three-dav' }],
    });
    const run = (await runBackup(orchestrator, app.id)) as CopiedRun;
    expect(run).toMatchObject({ status: 'succeeded', bytes: SIZE, sha256: sha256Of(SIZE), error: null });
    // The app was asked once.
    expect(contract.exports.length).toBe(exportsBefore + 1);
    expect(run.destinations.map(({ destination, status, bytes, error }) => ({ destination, status, bytes, error }))).toEqual([
      { destination: 'default', status: 'succeeded', bytes: SIZE, error: null },
      { destination: second.name, status: 'succeeded', bytes: SIZE, error: null },
      { destination: third.name, status: 'succeeded', bytes: SIZE, error: null },
    ]);
    const name = run.remotePath!.split('/').pop()!;
    for (const folder of [join(defaultRoot(), 'three'), join(local, 'three-local'), join(dav.root, 'three-dav')]) {
      expect(filesIn(folder)).toEqual([name]);
      expect(sha256File(join(folder, name))).toBe(sha256Of(SIZE));
    }

    // Listing, verification and restore per destination; the default is the first.
    const listed = (await orchestrator.api.get(`/api/apps/${app.id}/backups?destination=${third.name}`).expect(200)).body;
    expect(listed).toMatchObject([{ name, size: SIZE }]);
    expect((await orchestrator.api.get(`/api/apps/${app.id}/backups`).expect(200)).body).toMatchObject([{ name }]);
    await orchestrator.api.get(`/api/apps/${app.id}/backups?destination=nope`).expect(400);
    const verifyId = (await orchestrator.api.post(`/api/apps/${app.id}/verify`, { destination: third.id }).expect(202)).body.runId;
    expect(await waitForRunEnd(orchestrator, verifyId)).toMatchObject({ kind: 'verify', status: 'succeeded', destinationId: third.id });
    const importsBefore = contract.imports.length;
    const restoreId = (await orchestrator.api.post(`/api/apps/${app.id}/restore`, { backup: name, destination: second.name }).expect(202)).body.runId;
    const restore = await waitForRunEnd(orchestrator, restoreId);
    expect(restore).toMatchObject({ kind: 'restore', status: 'succeeded', destinationId: second.id, remotePath: join(local, 'three-local', name) });
    expect(contract.imports.slice(importsBefore)).toMatchObject([{ bytes: SIZE, sha256: sha256Of(SIZE), complete: true }]);
    // Verified there only: the listing of the WebDAV copy says so, the default's does not.
    expect((await orchestrator.api.get(`/api/apps/${app.id}/backups?destination=${third.id}`).expect(200)).body[0].verified).toBe(true);
    expect((await orchestrator.api.get(`/api/apps/${app.id}/backups`).expect(200)).body[0].verified).toBeNull();
    const download = await orchestrator.api.get(`/api/apps/${app.id}/backups/${name}/download?destination=${second.id}`).buffer(true).parse((res, callback) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => callback(null, Buffer.concat(chunks)));
    }).expect(200);
    expect((download.body as Buffer).equals(exportBytes(SIZE))).toBe(true);
  });

  it('applies retention per destination, with each destination\'s overrides', async () => {
    const local = localFolder();
    const second = await destination(local);
    contract.setMode({ size: 64 * 1024, delayMs: 0, behaviour: undefined }); // small: through the rclone daemon
    const app = await registerApp(orchestrator, {
      name: 'keeps', url: contract.url, driveFolderId: undefined, retention: 3,
      destinations: [{ destinationId: 1, folder: 'keeps' }, { destinationId: second.id, folder: 'keeps', retention: 1 }],
    });
    const runs: CopiedRun[] = [];
    for (let i = 0; i < 3; i++) runs.push((await runBackup(orchestrator, app.id)) as CopiedRun);
    expect(runs.map((run) => run.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const names = runs.map((run) => run.remotePath!.split('/').pop()!);
    expect(filesIn(join(defaultRoot(), 'keeps'))).toEqual([...names].sort());
    expect(filesIn(join(local, 'keeps'))).toEqual([names[2]]);
    // The first run's copy in the second destination is recorded as deleted there; in default it stays.
    const first = (await orchestrator.api.get(`/api/runs/${runs[0].id}`).expect(200)).body;
    expect(first.destinations.map((copy: { backupRemovedAt: string | null }) => copy.backupRemovedAt === null)).toEqual([true, false]);
    expect(first.backupRemovedAt).toBeNull();
  });

  it('goes on with the other copies when one destination\'s server stops mid-upload: partial, nothing deleted or left over', async () => {
    const spare = await startWebdav();
    const local = localFolder();
    const second = await destination(local);
    const doomed = await destination(spare.remote);
    const app = await registerApp(orchestrator, {
      name: 'partial', url: contract.url, driveFolderId: undefined, retention: 1,
      destinations: [{ destinationId: 1, folder: 'partial' }, { destinationId: second.id, folder: 'partial' }, { destinationId: doomed.id, folder: 'partial' }],
    });
    // Older backups on the failing side, beyond retention: a partial run must not touch them.
    const older = ['partial-20250101T000000Z.db', 'partial-20250102T000000Z.db'];
    seed(join(spare.root, 'partial'), older);
    contract.setMode({ size: 8 * 1024 * 1024, delayMs: 10, behaviour: undefined });
    const runId = (await orchestrator.api.post(`/api/apps/${app.id}/run`).expect(202)).body.runId;
    await waitFor(async () => ((await orchestrator.api.get(`/api/runs/${runId}`)).body.bytes > 1024 * 1024 ? true : undefined));
    await spare.stop();
    const run = (await waitForRunEnd(orchestrator, runId)) as CopiedRun;
    expect(run.status).toBe('partial');
    expect(run.bytes).toBe(8 * 1024 * 1024);
    expect(run.destinations.map((copy) => copy.status)).toEqual(['succeeded', 'succeeded', 'failed']);
    expect(run.destinations[2].error).toMatch(/^upload: /);
    expect(run.log.join('\n')).toContain(`destination ${doomed.name} failed`);
    // A problem that still left a backup: the app needs attention, health is degraded, the last success is this run's.
    expect((await orchestrator.api.get('/api/apps?status=partial').expect(200)).body.map((a: { name: string }) => a.name)).toEqual(['partial']);
    const health = (await orchestrator.api.get('/api/health').expect(200)).body;
    expect(health.status).toBe('degraded');
    expect(health.checks.backups.partial).toBe(1);
    expect((await orchestrator.api.get(`/api/apps/${app.id}`).expect(200)).body).toMatchObject({ lastRun: { status: 'partial' }, lastSuccessAt: run.finishedAt });
    expect(run.error).toMatch(new RegExp(`^stored in 2 of 3 destinations; ${doomed.name}: upload: `));
    const name = run.remotePath!.split('/').pop()!;
    for (const folder of [join(defaultRoot(), 'partial'), join(local, 'partial')]) {
      expect(filesIn(folder)).toEqual([name]);
      expect(sha256File(join(folder, name))).toBe(sha256Of(8 * 1024 * 1024));
    }
    // The failed side keeps what it had; its server comes back and the next run removes the leftover, if any.
    expect(filesIn(join(spare.root, 'partial')).filter((file) => !isTemporary(file))).toEqual(older);
    const back = await startWebdav({ root: spare.root, port: spare.port });
    try {
      contract.setMode({ size: SIZE, delayMs: 0 });
      const next = (await runBackup(orchestrator, app.id)) as CopiedRun;
      expect(next.status).toBe('succeeded');
      for (const folder of [join(defaultRoot(), 'partial'), join(local, 'partial'), join(spare.root, 'partial')]) {
        expect(filesIn(folder).filter(isTemporary)).toEqual([]);
      }
    } finally {
      await back.stop();
    }
    // A partial run counts as a problem that left a backup.
    const partialRuns = (await orchestrator.api.get('/api/runs?status=partial').expect(200)).body;
    expect(partialRuns.map((r: { id: number }) => r.id)).toContain(runId);
    const metrics = (await orchestrator.api.get('/metrics').expect(200)).text;
    expect(metrics).toMatch(new RegExp(`backup_runs_total\\{[^}]*app="partial"[^}]*status="partial"[^}]*\\} 1`));
    expect(metrics).toMatch(new RegExp(`destination="${doomed.name}"`));
  });

  it('has pages: the destinations admin page (EN and ES), the app form\'s destinations, backups per destination on the app page', async () => {
    const browser = await orchestrator.pages();
    const page = (await browser.get('/destinations').expect(200)).text;
    expect(page).toContain('data-destination-row="default"');
    const token = csrfOf(page);
    const folder = localFolder();
    await browser.post('/destinations').type('form').send({ _csrf: token, name: 'paged', remote: folder, encryption: 'none' }).expect(303);
    await browser.post('/destinations').type('form').send({ _csrf: token, name: 'Bad', remote: 'x' }).expect(303);
    const after = (await browser.get('/destinations').expect(200)).text;
    expect(after).toContain('data-destination-row="paged"');
    expect(after).toMatch(/Not done: name: must be a lowercase letter/);
    const paged = (await orchestrator.api.get('/api/destinations').expect(200)).body.find((d: { name: string }) => d.name === 'paged');
    await browser.post(`/destinations/${paged.id}/check`).type('form').send({ _csrf: token }).expect(303);
    expect((await browser.get('/destinations').expect(200)).text).toContain('Destination &quot;paged&quot; answers (local).');
    const spanish = (await orchestrator.pages()).set('Accept-Language', 'es');
    expect((await spanish.get('/destinations').expect(200)).text).toContain('Añadir un destino');

    // The app form: a row per destination; the first one's folder is driveFolderId.
    const form = (await browser.get('/apps/new').expect(200)).text;
    expect(form).toContain('data-destination="paged"');
    const order = /name="destOrder" value="([^"]+)"/.exec(form)![1];
    contract.setMode({ size: 64 * 1024, delayMs: 0, behaviour: undefined });
    const created = await browser.post('/apps').type('form').send({
      _csrf: csrfOf(form), name: 'paged-app', url: contract.url, token: 'test-token', schedule: '0 3 * * *', timezone: '', driveFolderId: 'paged-first',
      retention: '3', enabled: 'on', destOrder: order, firstDestination: '1', [`destFolder-${paged.id}`]: 'paged-second', [`dest-retention-${paged.id}`]: '1',
    }).expect(303);
    const appId = Number(created.headers.location.split('/').pop());
    const app = (await orchestrator.api.get(`/api/apps/${appId}`).expect(200)).body;
    expect(app.destinations).toMatchObject([{ destination: 'default', folder: 'paged-first', retention: null }, { destination: 'paged', folder: 'paged-second', retention: 1 }]);
    const run = (await runBackup(orchestrator, appId)) as CopiedRun;
    const name = run.remotePath!.split('/').pop()!;
    const show = (await browser.get(`/apps/${appId}?destination=${paged.id}`).expect(200)).text;
    expect(show).toContain('data-destination-tab="paged"');
    expect(show).toContain(`/api/apps/${appId}/backups/${name}/download?destination=${paged.id}`);
    const edit = (await browser.get(`/apps/${appId}/edit`).expect(200)).text;
    expect(edit).toContain(`name="destFolder-${paged.id}" value="paged-second"`);
    const runPage = (await browser.get(`/runs/${run.id}`).expect(200)).text;
    expect(runPage).toContain('data-copy="default"');
    expect(runPage).toContain('data-copy="paged"');
  });

  it('encrypts the copies of an encrypting destination only, each readable with the passphrase it was made with', async () => {
    const vault = localFolder();
    const encrypted = (await orchestrator.api.post('/api/destinations', {
      name: 'vault', remote: vault, encryption: 'rclone-crypt', encryptionPassphrase: 'destination passphrase',
    }).expect(201)).body;
    expect(encrypted).toMatchObject({ encryption: 'rclone-crypt', hasEncryptionPassphrase: true });
    expect(JSON.stringify(encrypted)).not.toContain('destination passphrase');
    contract.setMode({ size: SIZE, delayMs: 0, behaviour: undefined });
    const app = await registerApp(orchestrator, {
      name: 'mixed', url: contract.url, driveFolderId: undefined, retention: 2,
      destinations: [{ destinationId: 1, folder: 'mixed' }, { destinationId: 'vault', folder: 'mixed' }],
    });
    const run = (await runBackup(orchestrator, app.id)) as CopiedRun;
    expect(run.status).toBe('succeeded');
    const name = run.remotePath!.split('/').pop()!;
    expect(filesIn(join(defaultRoot(), 'mixed'))).toEqual([name]);
    expect(filesIn(join(vault, 'mixed'))).toEqual([`${name}.bin`]);
    expect(sha256File(join(vault, 'mixed', `${name}.bin`))).not.toBe(sha256Of(SIZE));
    expect((await orchestrator.api.get(`/api/apps/${app.id}/backups?destination=vault`).expect(200)).body).toMatchObject([{ name, size: SIZE, encrypted: true }]);
    // A later passphrase change leaves this copy readable with the one it was made with.
    await orchestrator.api.patch(`/api/destinations/${encrypted.id}`, { encryptionPassphrase: 'another one' }).expect(200);
    const verifyId = (await orchestrator.api.post(`/api/apps/${app.id}/verify`, { destination: 'vault' }).expect(202)).body.runId;
    expect(await waitForRunEnd(orchestrator, verifyId)).toMatchObject({ status: 'succeeded', bytes: SIZE, sha256: sha256Of(SIZE) });
  });

  it('fails the run when every destination fails, and records why for each', async () => {
    const first = await destination('missing-remote-a:');
    const second = await destination('missing-remote-b:');
    contract.setMode({ size: SIZE, delayMs: 0, behaviour: undefined });
    const app = await registerApp(orchestrator, {
      name: 'nowhere-at-all', url: contract.url, driveFolderId: undefined, retention: 1,
      destinations: [{ destinationId: first.id, folder: 'x' }, { destinationId: second.id, folder: 'x' }],
    });
    const exportsBefore = contract.exports.length;
    const run = (await runBackup(orchestrator, app.id)) as CopiedRun;
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^upload: no destination stored the backup: .*missing-remote-a.*; .*missing-remote-b/);
    expect(run.destinations.map((copy) => copy.status)).toEqual(['failed', 'failed']);
    // No remote answered: the app was never asked for a dump.
    expect(contract.exports.length).toBe(exportsBefore);
  });
});

// The SQLite upgrade path (migrations before and after destinations on one file); PostgreSQL's schema starts with
// destinations' migration of its own, run on an empty database.
describe.skipIf(onPostgres)('upgrading a database made before destinations', () => {
  it('gives every app the default destination with its folder, and keeps its backups readable and counted', async () => {
    const SECRET_KEY = 'an-upgrade-test-secret-key-of-enough-length-0123456789';
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-upgrade-'));
    const { config } = loadConfig({ ADMIN_PASSWORD: ADMIN.password, DATA_DIR: dataDir, SECRET_KEY }, null);
    const contract = await startContractApp({ token: 'test-token' });
    contract.setMode({ size: 200 * 1024 });

    // The schema as it was: the migrations before this change, then an app and its backup as the old code wrote them.
    mkdirSync(join(config.databasePath, '..'), { recursive: true });
    const old = new DataSource({ type: 'better-sqlite3', database: config.databasePath, migrations: MIGRATIONS.slice(0, MIGRATIONS.indexOf(Destinations1765300000001)) });
    await old.initialize();
    await old.runMigrations();
    await old.query(
      `INSERT INTO apps (name, url, tokenEncrypted, schedule, driveFolderId, retention, createdAt, updatedAt) VALUES ('legacy', ?, ?, '0 3 * * *', 'legacy', 2, datetime('now'), datetime('now'))`,
      [contract.url, new TokenCipher(SECRET_KEY).encrypt('test-token')],
    );
    const oldName = 'legacy-20260101T000000Z.db';
    const folder = join(config.rclone.remote, 'legacy');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, oldName), exportBytes(1000));
    await old.query(
      `INSERT INTO runs (appId, appName, kind, "trigger", status, queuedAt, startedAt, finishedAt, bytes, sha256, remotePath, backupName)
       VALUES (1, 'legacy', 'backup', 'manual', 'succeeded', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:01', 1000, ?, ?, ?)`,
      [sha256Of(1000), join(folder, oldName), oldName],
    );
    await old.destroy();

    const orchestrator = await bootOrchestrator({ DATA_DIR: dataDir, SECRET_KEY });
    try {
      const app = (await orchestrator.api.get('/api/apps/1').expect(200)).body;
      expect(app).toMatchObject({ driveFolderId: 'legacy', destinations: [{ destinationId: 1, destination: 'default', folder: 'legacy' }] });
      expect((await orchestrator.api.get('/api/apps/1/backups').expect(200)).body).toMatchObject([{ name: oldName, size: 1000 }]);
      const verifyId = (await orchestrator.api.post('/api/apps/1/verify', {}).expect(202)).body.runId;
      expect(await waitForRunEnd(orchestrator, verifyId)).toMatchObject({ status: 'succeeded', backupName: oldName, destinationId: 1 });

      const runs: CopiedRun[] = [];
      for (let i = 0; i < 2; i++) runs.push((await runBackup(orchestrator, 1)) as CopiedRun);
      expect(runs.map((run) => run.status)).toEqual(['succeeded', 'succeeded']);
      expect(runs[0].destinations).toMatchObject([{ destination: 'default', status: 'succeeded' }]);
      // Retention 2 in default: the old backup, recorded before the change, is the one that goes.
      expect(filesIn(folder)).toEqual(runs.map((run) => run.remotePath!.split('/').pop()!).sort());
      const oldRun = (await orchestrator.api.get('/api/runs/1').expect(200)).body;
      expect(oldRun.backupRemovedAt).not.toBeNull();
    } finally {
      await orchestrator.close();
      await contract.close();
    }
  });
});
