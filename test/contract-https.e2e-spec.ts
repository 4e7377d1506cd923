import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { registerApp, runBackup } from './support/backups';
import { ADMIN, appInput, bootOrchestrator, waitFor } from './support/orchestrator';
import { run, servicePort, start, waitForHttp } from './support/processes';

// An app behind HTTPS with a certificate from a private CA (#17, point 18): the orchestrator checks
// certificates, and trusts a private CA given in NODE_EXTRA_CA_CERTS, on its main thread (capabilities) and
// on the export's worker thread alike; so does check-app.

describe('apps served over HTTPS by a private CA', () => {
  let dir: string;
  let caFile: string;
  let contract: Awaited<ReturnType<typeof startContractApp>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'private-ca-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test private CA');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'app.key', '-out', 'app.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', 'app.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'app.pem', '-days', '2', '-extfile', 'san.ext');
    caFile = join(dir, 'ca.pem');
    const tls = { key: readFileSync(join(dir, 'app.key'), 'utf8'), cert: readFileSync(join(dir, 'app.pem'), 'utf8') };
    contract = await startContractApp({ token: 'tok', tls });
    contract.setMode({ size: 2 * 1024 * 1024, length: true, checksum: true });
  });
  afterAll(async () => {
    await contract.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a certificate it cannot verify, and says how to trust a private CA', async () => {
    const orchestrator = await bootOrchestrator();
    try {
      const app = await registerApp(orchestrator, { name: 'secure', url: contract.url, token: 'tok', driveFolderId: 'secure' });
      const { body } = await orchestrator.api.post(`/api/apps/${app.id}/check`).expect(200);
      expect(body.ok).toBe(false);
      expect(body.error).toMatch(/^the TLS certificate of 127\.0\.0\.1:\d+ is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: .*\); .*NODE_EXTRA_CA_CERTS/);
      const failed = await runBackup(orchestrator, app.id);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatch(/^capabilities: the TLS certificate of .* is not trusted/);
      expect(contract.requests).not.toContain('POST /backup/export');
    } finally {
      await orchestrator.close();
    }
  });

  it('trusts the CA in NODE_EXTRA_CA_CERTS for capabilities and for the export on its worker thread', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-https-'));
    const port = String(await servicePort());
    const service = start(process.execPath, ['dist/main.js'], {
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, PORT: port, HOST: '127.0.0.1', ADMIN_PASSWORD: ADMIN.password, NODE_EXTRA_CA_CERTS: caFile },
    });
    const base = `http://127.0.0.1:${port}`;
    const headers = { Authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`, 'Content-Type': 'application/json' };
    try {
      await waitForHttp(`${base}/api/health`);
      const registered = await fetch(`${base}/api/apps`, {
        method: 'POST', headers, body: JSON.stringify(appInput({ name: 'secure', url: contract.url, token: 'tok', driveFolderId: 'secure' })),
      });
      expect(registered.status).toBe(201);
      const { id } = await registered.json();
      const { runId } = await (await fetch(`${base}/api/apps/${id}/run`, { method: 'POST', headers })).json();
      const finished = await waitFor(async () => {
        const body = await (await fetch(`${base}/api/runs/${runId}`, { headers })).json();
        return ['queued', 'running'].includes(body.status) ? undefined : body;
      });
      expect(finished).toMatchObject({ status: 'succeeded', bytes: 2 * 1024 * 1024, error: null });
    } finally {
      await service.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('check-app trusts the same CA through NODE_EXTRA_CA_CERTS, and says so when it is missing', async () => {
    const args = ['scripts/check-app.mjs', '--url', contract.url, '--token', 'tok'];
    const trusted = await run(process.execPath, args, { env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile } });
    expect(trusted.output).not.toContain('FAIL');
    expect(trusted.code).toBe(0);
    const { NODE_EXTRA_CA_CERTS: _ignored, ...withoutCa } = process.env;
    const untrusted = await run(process.execPath, args, { env: withoutCa });
    expect(untrusted.output).toContain('FAIL  GET /backup/capabilities refuses no token — TLS certificate not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)');
    expect(untrusted.output).toContain('NODE_EXTRA_CA_CERTS');
    expect(untrusted.code).toBe(1);
  });
});
