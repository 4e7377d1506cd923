import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesIn } from './support/backups';
import { startContractApp } from './support/contract-app.mjs';
import { ADMIN, appInput, waitFor } from './support/orchestrator';
import { run, servicePort, start, Started, waitForHttp } from './support/processes';

type ContractApp = Awaited<ReturnType<typeof startContractApp>>;

/** The built service (`npm test` builds first), as `npm run start:prod` runs it, on loopback only. */
async function startService(dataDir: string, env: Record<string, string> = {}): Promise<{ service: Started; port: string; base: string }> {
  const port = String(await servicePort());
  const service = start(process.execPath, ['dist/main.js'], {
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, PORT: port, HOST: '127.0.0.1', ADMIN_PASSWORD: ADMIN.password, ...env },
  });
  return { service, port, base: `http://127.0.0.1:${port}` };
}

const authorization = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;

async function api(base: string, method: string, path: string, body?: object): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: authorization, ...(body && { 'Content-Type': 'application/json' }) },
    body: body && JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('one process per DATA_DIR', () => {
  let contract: ContractApp;
  beforeAll(async () => {
    contract = await startContractApp();
  });
  afterAll(() => contract.close());

  it('refuses a second process before it touches anything, names the first, and needs no clean-up after a crash', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-lock-'));
    const first = await startService(dataDir);
    let crashed = false;
    try {
      await waitForHttp(`${first.base}/api/health`);
      const app = (await api(first.base, 'POST', '/api/apps', appInput({ name: 'locked', url: contract.url, driveFolderId: 'locked' }))).body;
      contract.setMode({ size: 4 * 1024 * 1024, length: true, checksum: true, delayMs: 40 }); // ~2.5 s
      const { runId } = (await api(first.base, 'POST', `/api/apps/${app.id}/run`)).body;
      const folder = join(dataDir, 'backups', 'locked');
      await waitFor(() => (filesIn(folder).some((name) => name.endsWith('.partial')) ? true : undefined));

      // A start-first rolling update: the new process must not fail the live run nor remove its upload.
      const second = await startService(dataDir);
      const code = await new Promise<number | null>((resolve) => second.service.child.once('close', resolve));
      expect(code).toBe(1);
      expect(second.service.output()).toContain(`DATA_DIR ${dataDir} is in use by process ${first.service.child.pid}`);
      expect(second.service.output()).not.toContain('listening');

      const finished = await waitFor(async () => {
        const body = (await api(first.base, 'GET', `/api/runs/${runId}`)).body;
        return ['queued', 'running'].includes(body.status) ? undefined : body;
      });
      expect(finished.status).toBe('succeeded');
      expect(readdirSync(folder).filter((name) => name.startsWith('locked-'))).toHaveLength(1);

      // kill -9: the kernel drops the lock with the process, so the next start needs nobody's help.
      first.service.child.kill('SIGKILL');
      await first.service.stop();
      crashed = true;
      const third = await startService(dataDir);
      try {
        await waitForHttp(`${third.base}/api/health`);
        expect((await api(third.base, 'GET', `/api/runs/${runId}`)).body.status).toBe('succeeded');
      } finally {
        await third.service.stop();
      }
    } finally {
      if (!crashed) await first.service.stop();
    }
  });
});

describe('files the service creates', () => {
  it('keeps DATA_DIR, the database, the secrets, the spool folder and local backups private to its user', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-modes-'));
    chmodSync(dataDir, 0o755); // as an operator's `mkdir` leaves it
    const contract = await startContractApp();
    const { service, base } = await startService(dataDir, { ADMIN_PASSWORD: '' });
    try {
      await waitForHttp(`${base}/api/health`);
      const password = /Generated the admin password for "admin": (\S+)/.exec(service.output())?.[1];
      expect(password).toBeDefined();
      expect(modeOf(dataDir)).toBe(0o700);
      for (const file of ['orquestador.sqlite', 'secret-key', 'admin-password']) expect(modeOf(join(dataDir, file)), file).toBe(0o600);
      expect(modeOf(join(dataDir, 'tmp'))).toBe(0o700);
    } finally {
      await service.stop();
      await contract.close();
    }
  });

  it('writes local backups for its user only', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-modes-'));
    const contract = await startContractApp();
    const { service, base } = await startService(dataDir);
    try {
      await waitForHttp(`${base}/api/health`).catch((error: Error) => {
        throw new Error(`${error.message}\n${service.output()}`);
      });
      const app = (await api(base, 'POST', '/api/apps', appInput({ name: 'private', url: contract.url, driveFolderId: 'private' }))).body;
      const { runId } = (await api(base, 'POST', `/api/apps/${app.id}/run`)).body;
      const finished = await waitFor(async () => {
        const body = (await api(base, 'GET', `/api/runs/${runId}`)).body;
        return ['queued', 'running'].includes(body.status) ? undefined : body;
      });
      expect(finished.status).toBe('succeeded');
      const folder = join(dataDir, 'backups', 'private');
      expect(modeOf(join(dataDir, 'backups'))).toBe(0o700);
      expect(modeOf(folder)).toBe(0o700);
      const [backup] = readdirSync(folder);
      expect(modeOf(join(folder, backup))).toBe(0o600);
    } finally {
      await service.stop();
      await contract.close();
    }
  });

  it('empties its spool folder at boot: a crash leaves no backup data behind', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-spool-'));
    const leftover = join(dataDir, 'tmp', 'orquestador-rcat-crashed');
    mkdirSync(leftover, { recursive: true });
    writeFileSync(join(leftover, 'upload.partial'), Buffer.alloc(64 * 1024));
    const { service, base } = await startService(dataDir);
    try {
      await waitForHttp(`${base}/api/health`);
      expect(readdirSync(join(dataDir, 'tmp'))).toEqual([]);
    } finally {
      await service.stop();
    }
  });
});

describe('HOST', () => {
  it('listens on the chosen address only; unset, on every interface', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-host-'));
    const answers = (url: string) => fetch(url).then(() => true, () => false);
    const loopbackOnly = await startService(dataDir);
    try {
      await waitForHttp(`${loopbackOnly.base}/api/health`);
      expect(loopbackOnly.service.output()).toContain(`listening on 127.0.0.1 port ${loopbackOnly.port}`);
      expect(await answers(`http://127.0.0.2:${loopbackOnly.port}/api/health`)).toBe(false);
    } finally {
      await loopbackOnly.service.stop();
    }
    const everywhere = await startService(dataDir, { HOST: '' });
    try {
      await waitForHttp(`${everywhere.base}/api/health`);
      expect(await answers(`http://127.0.0.2:${everywhere.port}/api/health`)).toBe(true);
    } finally {
      await everywhere.service.stop();
    }
  });

  it('refuses a HOST that is not an address, naming it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-host-'));
    const { code, output } = await run(process.execPath, ['dist/main.js'], {
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, HOST: 'every-where', TRUST_PROXY: 'sometimes' },
    });
    expect(code).toBe(1);
    expect(output).toContain('HOST: must be an IP address to listen on');
    expect(output).toContain('TRUST_PROXY: must be false, true, the number of proxies in front');
    expect(existsSync(join(dataDir, 'orquestador.sqlite'))).toBe(false);
  });
});
