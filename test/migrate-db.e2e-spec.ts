import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApp, runBackup } from './support/backups';
import { startContractApp } from './support/contract-app.mjs';
import { ADMIN, bootOrchestrator } from './support/orchestrator';
import { run } from './support/processes';
import { ScratchDatabase, scratchDatabase } from './support/postgres';

type ContractApp = Awaited<ReturnType<typeof startContractApp>>;

/** The CLI as `npm run migrate-db -- …` runs it, on the built service. */
function migrateDb(args: string[], env: Record<string, string>) {
  return run(process.execPath, ['dist/database/migrate-db.js', ...args], { env: { PATH: process.env.PATH, ADMIN_PASSWORD: ADMIN.password, ...env } });
}

describe('npm run migrate-db', () => {
  let contract: ContractApp;
  let db: ScratchDatabase;
  beforeAll(async () => {
    contract = await startContractApp();
    contract.setMode({ size: 4096 });
    db = await scratchDatabase();
  });
  afterAll(async () => {
    await contract.close();
    await db.drop();
  });

  it('moves an embedded install into an empty PostgreSQL database, refuses a database that is not empty, and copies it back into a new SQLite file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-migrate-'));
    const remote = join(dataDir, 'backups');
    const embedded = await bootOrchestrator({ DATA_DIR: dataDir, DATABASE_PATH: join(dataDir, 'orquestador.sqlite'), RCLONE_REMOTE: remote });
    // A deleted app leaves a gap in the ids: the copy must keep them (runs point at their app by id).
    const retired = await registerApp(embedded, { name: 'retired', url: contract.url, driveFolderId: 'retired' });
    await embedded.api.delete(`/api/apps/${retired.id}`).expect(204);
    const billing = await registerApp(embedded, { name: 'billing', url: contract.url, driveFolderId: 'billing' });
    await registerApp(embedded, { name: 'crm', url: contract.url, driveFolderId: 'crm', enabled: false });
    expect((await runBackup(embedded, billing.id)).status).toBe('succeeded');
    await embedded.api.post('/api/users', { username: 'olga', password: 'olga-password-1', role: 'viewer' }).expect(201);
    // While the service runs, the copy is refused: it would miss what it writes meanwhile.
    const busy = await migrateDb(['--to', db.url], { DATA_DIR: dataDir });
    expect(busy.code).toBe(1);
    expect(busy.output).toMatch(/is in use by process/);
    await embedded.close();

    const moved = await migrateDb(['--to', db.url], { DATA_DIR: dataDir });
    expect(moved.code, moved.output).toBe(0);
    expect(moved.output).toMatch(/apps: 2 -> 2/);
    expect(moved.output).toMatch(/runs: 1 -> 1/);
    expect(moved.output).toMatch(/done: the counts match/);
    const again = await migrateDb(['--to', db.url], { DATA_DIR: dataDir });
    expect(again.code).toBe(1);
    expect(again.output).toMatch(/not empty/);

    // A replica with the install's SECRET_KEY reads everything, tokens included (the backup needs the token).
    const secretKey = readFileSync(join(dataDir, 'secret-key'), 'utf8').trim();
    const replica = await bootOrchestrator({ DATABASE_URL: db.url, SECRET_KEY: secretKey, RCLONE_REMOTE: remote });
    try {
      const apps = (await replica.api.get('/api/apps').expect(200)).body;
      expect(apps.map((app: { name: string }) => app.name)).toEqual(['billing', 'crm']);
      const runs = (await replica.api.get(`/api/apps/${billing.id}/runs`).expect(200)).body;
      expect(runs).toHaveLength(1);
      expect((await runBackup(replica, billing.id)).status).toBe('succeeded');
      // Ids go on after the copied ones.
      expect(billing.id).toBe(2);
      expect((await registerApp(replica, { name: 'shop', url: contract.url, driveFolderId: 'shop' })).id).toBe(4);
      await replica.pages({ user: 'olga', password: 'olga-password-1' });
    } finally {
      await replica.close().catch(() => undefined);
    }

    // The way back, with every replica stopped.
    const file = join(mkdtempSync(join(tmpdir(), 'orquestador-back-')), 'orquestador.sqlite');
    const back = await migrateDb(['--from', db.url, '--to', `sqlite:${file}`], { DATA_DIR: dataDir });
    expect(back.code, back.output).toBe(0);
    expect(back.output).toMatch(/apps: 3 -> 3/);
    expect(back.output).toMatch(/runs: 2 -> 2/);
    const restored = await bootOrchestrator({ DATABASE_PATH: file, SECRET_KEY: secretKey, RCLONE_REMOTE: remote });
    try {
      expect((await restored.api.get('/api/apps').expect(200)).body).toHaveLength(3);
      expect((await runBackup(restored, billing.id)).status).toBe('succeeded');
    } finally {
      await restored.close();
    }
  }, 90_000);
});
