import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { registerApp, runBackup, waitForRunEnd } from './support/backups';
import { bootOrchestrator, Orchestrator } from './support/orchestrator';

// The contract's requests as an app receives them (#17, point 18): what the orchestrator sends, under which
// URL, and what it makes of capabilities it does not know.

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

describe('contract requests as the app receives them', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let names = 0;
  const register = (overrides: Record<string, unknown> = {}) => {
    const name = `app-${++names}`;
    return registerApp(orchestrator, { name, url: contract.url, token: 'tok', driveFolderId: name, ...overrides });
  };
  /** The requests received since `from`, each with its headers. */
  const received = (from: number) =>
    contract.requests.slice(from).map((request, index) => ({ request, headers: contract.headers[from + index] as IncomingHttpHeaders }));

  beforeAll(async () => {
    contract = await startContractApp({ token: 'tok' });
    orchestrator = await bootOrchestrator();
  });
  beforeEach(() => contract.setMode({ size: 256 * 1024, length: true, checksum: true, prefix: '', extraCapabilities: {}, extension: 'db' }));
  afterAll(async () => {
    await orchestrator.close();
    await contract.close();
  });

  it('names app-orquestador and its version in User-Agent, and the run in X-Backup-Run-Id, on every request of a backup and a restore', async () => {
    const app = await register();
    const from = contract.requests.length;
    const backup = await runBackup(orchestrator, app.id);
    expect(backup.status).toBe('succeeded');
    const backupRequests = received(from);
    expect(backupRequests.map(({ request }) => request)).toEqual(['GET /backup/capabilities', 'POST /backup/export']);
    for (const { headers } of backupRequests) {
      expect(headers['user-agent']).toBe(`app-orquestador/${version}`);
      expect(headers['x-backup-run-id']).toBe(String(backup.id));
      expect(headers.authorization).toBe('Bearer tok');
    }

    const restoreFrom = contract.requests.length;
    const { body } = await orchestrator.api.post(`/api/apps/${app.id}/restore`, { backup: (backup as { backupName?: string }).backupName }).expect(202);
    expect((await waitForRunEnd(orchestrator, body.runId)).status).toBe('succeeded');
    const imported = received(restoreFrom).find(({ request }) => request === 'POST /backup/import')!;
    expect(imported.headers).toMatchObject({
      'user-agent': `app-orquestador/${version}`,
      'x-backup-run-id': String(body.runId),
      'content-length': String(256 * 1024),
      'x-backup-sha256': backup.sha256,
      'content-type': 'application/octet-stream',
    });
    expect(imported.headers['transfer-encoding']).toBeUndefined(); // never chunked
    expect(body.runId).not.toBe(backup.id);
  });

  it('a connection check sends User-Agent but no run id: it is not a run', async () => {
    const app = await register();
    const from = contract.requests.length;
    await orchestrator.api.post(`/api/apps/${app.id}/check`).expect(200);
    const [check] = received(from);
    expect(check.request).toBe('GET /backup/capabilities');
    expect(check.headers['user-agent']).toBe(`app-orquestador/${version}`);
    expect(check.headers).not.toHaveProperty('x-backup-run-id');
  });

  it.each(['/tenant-a', '/tenant-a/', '/tenant-a?site=1'])('keeps the path prefix of a URL ending in %s', async (suffix) => {
    contract.setMode({ prefix: '/tenant-a' });
    const app = await register({ url: `${contract.url}${suffix}` });
    const from = contract.requests.length;
    const backup = await runBackup(orchestrator, app.id);
    expect(backup.status).toBe('succeeded');
    const query = suffix.includes('?') ? '?site=1' : '';
    expect(contract.requests.slice(from)).toEqual([`GET /tenant-a/backup/capabilities${query}`, `POST /tenant-a/backup/export${query}`]);
  });

  it('ignores capability fields it does not know', async () => {
    contract.setMode({ extraCapabilities: { compression: 'zstd', tables: ['notes'], v2: { anything: true } } });
    const app = await register();
    expect((await runBackup(orchestrator, app.id)).status).toBe('succeeded');
  });

  it.each(['d b', '../etc', 'tar.bak', '', 'x'.repeat(17)])('an invalid extension %j is ignored: the name takes the Content-Disposition one', async (extension) => {
    contract.setMode({ extension });
    const app = await register();
    const backup = await runBackup(orchestrator, app.id);
    expect(backup.status).toBe('succeeded');
    expect(backup.remotePath).toMatch(new RegExp(`/${app.name}-\\d{8}T\\d{6}Z\\.db$`)); // from filename="dump.db"
    expect(backup.log.join('\n')).toContain(`capabilities: extension ${JSON.stringify(extension)} ignored: it must be letters and digits`);
  });

  it.each([
    ['busy', 409, /^export: app answered 409: it is busy with another backup or maintenance; try again later: \{"error":"a backup is already running"\}$/],
    ['unavailable', 503, /^export: app answered 503: it is unavailable for now \(starting up or in maintenance\); the next run tries again: \{"error":"starting up"\}$/],
    ['fail', 500, /^export: app answered 500: \{"error":"database is locked"\}$/],
  ])('a %s app (%i) fails the run with the app\'s words', async (behaviour, _status, error) => {
    contract.setMode({ behaviour });
    const app = await register();
    const run = await runBackup(orchestrator, app.id);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(error);
  });
});

describe('import timeouts', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  beforeAll(async () => {
    contract = await startContractApp({ token: 'tok' });
    orchestrator = await bootOrchestrator({ BACKUP_IDLE_TIMEOUT_S: '1' });
  });
  afterAll(async () => {
    await orchestrator.close();
    await contract.close();
  });

  it.each([
    ['import-hang', 'the app gave no answer within 1 s of the last byte (BACKUP_IDLE_TIMEOUT_S)'],
    ['import-stall', 'the app took no bytes for 1 s (BACKUP_IDLE_TIMEOUT_S)'],
  ])('a restore into an app in mode %s fails with "%s"', async (behaviour, error) => {
    contract.setMode({ size: 16 * 1024 * 1024, length: true, checksum: true });
    const app = await registerApp(orchestrator, { name: behaviour, url: contract.url, token: 'tok', driveFolderId: behaviour });
    const backup = await runBackup(orchestrator, app.id);
    expect(backup.status).toBe('succeeded');
    contract.setMode({ behaviour });
    const { body } = await orchestrator.api.post(`/api/apps/${app.id}/restore`, { backup: (backup as { backupName?: string }).backupName }).expect(202);
    const restore = await waitForRunEnd(orchestrator, body.runId);
    expect(restore.status).toBe('failed');
    expect(restore.error).toBe(`import: ${error}`);
  });
});

describe('app tokens', () => {
  let orchestrator: Orchestrator;
  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
  });
  afterAll(() => orchestrator.close());

  it.each(['two words', 'line\nbreak', 'trailing\t', 'ñandú'])('refuses a token that no HTTP header carries intact: %j', async (token) => {
    const { body } = await orchestrator.api.post('/api/apps', { name: 'tokens', url: 'http://127.0.0.1:9', token, schedule: '0 3 * * *', driveFolderId: 'tokens', retention: 3 }).expect(400);
    expect(JSON.stringify(body)).toContain('visible ASCII characters');
    expect(JSON.stringify(body)).toContain('token');
  });

  it('accepts hex, base64url and punctuation', async () => {
    const token = 'aZ09-._~+/=!#$%&*^|';
    await orchestrator.api.post('/api/apps', { name: 'tokens', url: 'http://127.0.0.1:9', token, schedule: '0 3 * * *', driveFolderId: 'tokens', retention: 3 }).expect(201);
  });
});
