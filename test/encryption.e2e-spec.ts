import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportBytes, sha256Of, startContractApp } from './support/contract-app.mjs';
import { filesIn, registerApp, RunBody, runBackup, seed, waitForRunEnd } from './support/backups';
import { bootOrchestrator, Orchestrator, waitFor } from './support/orchestrator';
import { startWebdav, WebdavRemote } from './support/webdav';

type ContractApp = Awaited<ReturnType<typeof startContractApp>>;

const PASSPHRASE = "it's a \"secret\", with: punctuation ñ";
const LARGE = 3 * 1024 * 1024 + 17; // through rclone rcat on the run's worker thread
const SMALL = 200 * 1024 + 3; // through the rclone daemon

/** Each remote: the orchestrator's settings, where its files land, and how a person's rclone reaches it. */
const remotes = {
  'local folder': async () => ({
    env: {} as Record<string, string>,
    rootOf: (o: Orchestrator) => o.config.rclone.remote,
    byHand: (o: Orchestrator, folder: string) => ({ remote: join(o.config.rclone.remote, folder), config: '' }),
    stop: async () => {},
  }),
  'WebDAV (rclone serve webdav)': async () => {
    const dav: WebdavRemote = await startWebdav();
    return {
      env: { RCLONE_REMOTE: 'dav:', RCLONE_CONFIG: dav.configPath } as Record<string, string>,
      rootOf: () => dav.root,
      byHand: (_: Orchestrator, folder: string) => ({ remote: `dav:${folder}`, config: readFileSync(dav.configPath, 'utf8') }),
      stop: dav.stop,
    };
  },
};

/** The bytes a request answered, whole. */
function download(orchestrator: Orchestrator, appId: number, name: string) {
  return orchestrator.api
    .get(`/api/apps/${appId}/backups/${encodeURIComponent(name)}/download`)
    .buffer(true)
    .parse((res, callback) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => callback(null, Buffer.concat(chunks)));
    });
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * Whether any 64-byte window of `plain` appears anywhere in `stored`. Such a window holds one of plain's
 * 32-byte blocks at a multiple of 32 whole, so looking for those at every offset of `stored` finds every one.
 */
function sharesAWindow(plain: Buffer, stored: Buffer): boolean {
  const blocks = new Set<string>();
  for (let at = 0; at + 32 <= plain.length; at += 32) blocks.add(plain.toString('latin1', at, at + 32));
  for (let at = 0; at + 32 <= stored.length; at++) if (blocks.has(stored.toString('latin1', at, at + 32))) return true;
  return false;
}

/**
 * What the README's "Decrypt a backup by hand" says, with nothing from the orchestrator but the passphrase:
 * a fresh rclone config with a crypt remote around the folder, and `rclone cat`.
 */
function decryptByHand(where: { remote: string; config: string }, passphrase: string, name: string): Buffer {
  const obscured = execFileSync('rclone', ['obscure', passphrase], { encoding: 'utf8' }).trim();
  const config = join(mkdtempSync(join(tmpdir(), 'orquestador-by-hand-')), 'rclone.conf');
  writeFileSync(config, `${where.config}\n[backups]\ntype = crypt\nremote = ${where.remote}\nfilename_encryption = off\n` +
    `directory_name_encryption = false\npassword = ${obscured}\n`);
  return execFileSync('rclone', ['--config', config, 'cat', `backups:${name}`], { maxBuffer: 64 * 1024 * 1024 });
}

describe.each(Object.entries(remotes))('encrypted backups into a %s remote', (_, makeRemote) => {
  let orchestrator: Orchestrator;
  let contract: ContractApp;
  let remote: Awaited<ReturnType<(typeof remotes)['local folder']>>;
  let root: string;
  let counter = 0;

  beforeAll(async () => {
    remote = await makeRemote();
    orchestrator = await bootOrchestrator(remote.env);
    root = remote.rootOf(orchestrator);
    contract = await startContractApp({ token: 'test-token' });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
    await remote?.stop();
  });

  async function encryptedApp(overrides: Record<string, unknown> = {}) {
    const folder = `crypt-${++counter}`;
    const app = await registerApp(orchestrator, {
      name: `vault-${counter}`, url: contract.url, driveFolderId: folder, retention: 5,
      encryption: 'rclone-crypt', encryptionPassphrase: PASSPHRASE, ...overrides,
    });
    return { app, folder, path: join(root, folder) };
  }

  async function finished(path: string, body?: object): Promise<RunBody> {
    const { body: started } = await orchestrator.api.post(path, body).expect(202);
    return waitForRunEnd(orchestrator, started.runId);
  }

  it.each([
    ['a large export (rclone rcat on the worker)', LARGE],
    ['a small export (the rclone daemon)', SMALL],
  ])('%s: backup → list → verify → download → restore → decryption by hand', { timeout: 120_000 }, async (_, size) => {
    contract.setMode({ size, behaviour: undefined });
    const { app, folder, path } = await encryptedApp();
    const run = await runBackup(orchestrator, app.id);
    expect(run).toMatchObject({ status: 'succeeded', bytes: size, sha256: sha256Of(size) });
    const name = (run as RunBody & { backupName: string }).backupName;
    expect(name).toMatch(new RegExp(`^vault-${counter}-\\d{8}T\\d{6}Z\\.db$`));
    // crypt keeps the name readable and appends ".bin"; nothing else is left in the folder.
    expect(filesIn(path)).toEqual([`${name}.bin`]);
    expect(run.remotePath!.endsWith(`${folder}/${name}.bin`)).toBe(true);

    const stored = readFileSync(join(path, `${name}.bin`));
    expect(stored.length).toBeGreaterThan(size);
    expect(sharesAWindow(exportBytes(size), stored)).toBe(false);

    const { body: listed } = await orchestrator.api.get(`/api/apps/${app.id}/backups`).expect(200);
    expect(listed).toEqual([expect.objectContaining({ name, size, encrypted: true, verified: null })]);

    const verified = await finished(`/api/apps/${app.id}/verify`, { backup: name });
    expect(verified).toMatchObject({ kind: 'verify', status: 'succeeded', bytes: size, sha256: sha256Of(size) });
    const { body: afterVerify } = await orchestrator.api.get(`/api/apps/${app.id}/backups`).expect(200);
    expect(afterVerify[0]).toMatchObject({ name, encrypted: true, verified: true });

    const response = await download(orchestrator, app.id, name).expect(200);
    expect(response.headers['content-disposition']).toBe(`attachment; filename="${name}"`);
    expect(Number(response.headers['content-length'])).toBe(size);
    expect(sha256(response.body as Buffer)).toBe(sha256Of(size));

    const restored = await finished(`/api/apps/${app.id}/restore`, { backup: name });
    expect(restored).toMatchObject({ kind: 'restore', status: 'succeeded' });
    expect(contract.imports.at(-1)).toEqual({ bytes: size, sha256: sha256Of(size), complete: true, announcedSha256: sha256Of(size) });

    expect(sha256(decryptByHand(remote.byHand(orchestrator, folder), PASSPHRASE, name))).toBe(run.sha256);
  });

  it.each([
    ['abort-mid-stream', LARGE, /^export: /],
    ['wrong-checksum', LARGE, /differs from X-Backup-Sha256/],
    ['wrong-checksum', SMALL, /differs from X-Backup-Sha256/],
  ])('an export that fails (%s, %i bytes) leaves no encrypted file, final or temporary, and deletes nothing', async (behaviour, size, error) => {
    contract.setMode({ size, behaviour });
    const { app, path } = await encryptedApp();
    seed(path, [`${app.name}-20250101T000000Z.db.bin`, `${app.name}-20250102T000000Z.db`]);
    const before = filesIn(path);
    const run = await runBackup(orchestrator, app.id);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(error);
    expect(filesIn(path)).toEqual(before);
    contract.setMode({ behaviour: undefined });
  });

  it('a file encrypted with another passphrase fails verify and restore clearly, and the app receives nothing whole', async () => {
    contract.setMode({ size: LARGE, behaviour: undefined });
    const { app, folder, path } = await encryptedApp();
    const run = await runBackup(orchestrator, app.id);
    expect(run.status).toBe('succeeded');
    const name = (run as RunBody & { backupName: string }).backupName;
    // Someone puts a file of the same name there, encrypted (correctly) with another passphrase.
    const other = spawnSync('rclone', ['rcat', 'other:' + name, ...(remote.env.RCLONE_CONFIG ? ['--config', remote.env.RCLONE_CONFIG] : [])], {
      input: exportBytes(LARGE),
      env: {
        ...process.env,
        RCLONE_CONFIG_OTHER_TYPE: 'crypt',
        RCLONE_CONFIG_OTHER_REMOTE: remote.byHand(orchestrator, folder).remote,
        RCLONE_CONFIG_OTHER_PASSWORD: execFileSync('rclone', ['obscure', 'another passphrase'], { encoding: 'utf8' }).trim(),
        RCLONE_CONFIG_OTHER_FILENAME_ENCRYPTION: 'off',
      },
    });
    expect(other.status, other.stderr.toString()).toBe(0);
    expect(filesIn(path)).toEqual([`${name}.bin`]);

    const verified = await finished(`/api/apps/${app.id}/verify`, { backup: name });
    expect(verified.status).toBe('failed');
    expect(verified.error).toMatch(new RegExp(`^read: ${name} cannot be decrypted with the passphrase it was encrypted with \\(wrong passphrase`));
    const imports = contract.imports.length;
    const restored = await finished(`/api/apps/${app.id}/restore`, { backup: name });
    expect(restored.status).toBe('failed');
    expect(restored.error).toMatch(/^read: .* cannot be decrypted with the passphrase it was encrypted with/);
    expect(contract.imports.slice(imports).every((received) => !received.complete)).toBe(true);
    await download(orchestrator, app.id, name).then(
      (response) => expect((response.body as Buffer).length).toBeLessThan(LARGE),
      () => undefined, // the connection broke: the browser never takes it for a whole file
    );
  });

  it('a new passphrase applies to new backups; older ones stay readable with theirs', async () => {
    contract.setMode({ size: SMALL, behaviour: undefined });
    const { app, folder } = await encryptedApp();
    const first = (await runBackup(orchestrator, app.id)) as RunBody & { backupName: string };
    await orchestrator.api.patch(`/api/apps/${app.id}`, { encryptionPassphrase: 'the second passphrase' }).expect(200);
    const second = (await runBackup(orchestrator, app.id)) as RunBody & { backupName: string };
    expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
    for (const run of [first, second]) {
      expect((await finished(`/api/apps/${app.id}/verify`, { backup: run.backupName })).status).toBe('succeeded');
    }
    const where = remote.byHand(orchestrator, folder);
    expect(sha256(decryptByHand(where, PASSPHRASE, first.backupName))).toBe(first.sha256);
    expect(sha256(decryptByHand(where, 'the second passphrase', second.backupName))).toBe(second.sha256);
    expect(() => decryptByHand(where, PASSPHRASE, second.backupName)).toThrow();
  });

  it("switching encryption on and off keeps rotating the app's backups of both kinds, and never touches another app's", async () => {
    contract.setMode({ size: SMALL, behaviour: undefined });
    const folder = `mixed-${++counter}`;
    const path = join(root, folder);
    // Another app sharing the folder, with files of both kinds that look old.
    const neighbours = ['mixed-2-20250101T000000Z.db', 'mixed-2-20250102T000000Z.db.bin', 'mixed-20250101T000000Z.db.bak', 'notes.txt'];
    seed(path, neighbours);
    const app = await registerApp(orchestrator, { name: 'mixed', url: contract.url, driveFolderId: folder, retention: 2 });
    const names: string[] = [];
    for (const encryption of ['none', 'none', 'rclone-crypt', 'rclone-crypt', 'none']) {
      await orchestrator.api.patch(`/api/apps/${app.id}`, { encryption, encryptionPassphrase: PASSPHRASE }).expect(200);
      const run = (await runBackup(orchestrator, app.id)) as RunBody & { backupName: string };
      expect(run.status).toBe('succeeded');
      names.push(run.backupName);
      // Runs in one second are named a second apart: the next starts once the clock is past this name.
      const named = Date.parse(run.backupName.replace(/^mixed-(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z.*$/, '$1-$2-$3T$4:$5:$6Z'));
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, named + 1000 - Date.now())));
    }
    const [, , third, fourth, fifth] = names;
    expect(filesIn(path)).toEqual([...neighbours, `${fourth}.bin`, fifth].sort());
    const { body: listed } = await orchestrator.api.get(`/api/apps/${app.id}/backups`).expect(200);
    expect(listed.map((file: { name: string; encrypted: boolean; size: number }) => [file.name, file.encrypted, file.size])).toEqual([
      [fifth, false, SMALL],
      [fourth, true, SMALL],
    ]);
    expect(third).not.toBe(fourth);
    for (const backup of [fourth, fifth]) expect((await finished(`/api/apps/${app.id}/verify`, { backup })).status).toBe('succeeded');
  });
});

describe('encryption settings', () => {
  let orchestrator: Orchestrator;
  let contract: ContractApp;

  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
    contract = await startContractApp({ token: 'test-token' });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
  });

  const fieldsOf = (body: { details?: { field: string }[] }) => body.details?.map((detail) => detail.field);

  it('refuses rclone-crypt without a passphrase when DEFAULT_ENCRYPTION_PASSPHRASE is unset, naming encryptionPassphrase', async () => {
    const refused = await orchestrator.api.post('/api/apps', { ...base('nopass'), encryption: 'rclone-crypt' }).expect(400);
    expect(fieldsOf(refused.body)).toEqual(['encryptionPassphrase']);
    const { body: app } = await orchestrator.api.post('/api/apps', base('plain')).expect(201);
    expect(app).toMatchObject({ encryption: 'none', hasEncryptionPassphrase: false });
    const patched = await orchestrator.api.patch(`/api/apps/${app.id}`, { encryption: 'rclone-crypt' }).expect(400);
    expect(fieldsOf(patched.body)).toEqual(['encryptionPassphrase']);
  });

  it.each([
    [{ encryption: 'aes' }, 'encryption'],
    [{ encryption: null }, 'encryption'],
    [{ encryption: 'rclone-crypt', encryptionPassphrase: '' }, 'encryptionPassphrase'],
    [{ encryption: 'rclone-crypt', encryptionPassphrase: 42 }, 'encryptionPassphrase'],
    [{ encryption: 'rclone-crypt', encryptionPassphrase: 'x'.repeat(1025) }, 'encryptionPassphrase'],
  ])('refuses %j with 400 naming %s', async (fields, field) => {
    const refused = await orchestrator.api.post('/api/apps', { ...base('bad'), ...fields }).expect(400);
    expect(fieldsOf(refused.body)).toEqual([field]);
  });

  it('never returns, logs or shows the passphrase on a command line; blank keeps it, null falls back to the default', async () => {
    contract.setMode({ size: 16 * 1024 * 1024, delayMs: 2, behaviour: undefined });
    const secret = 'Tr0ub4dor&3-never-shown';
    const { body: app } = await orchestrator.api.post('/api/apps', { ...base('hidden'), url: contract.url, encryption: 'rclone-crypt', encryptionPassphrase: secret }).expect(201);
    expect(app).toMatchObject({ encryption: 'rclone-crypt', hasEncryptionPassphrase: true });
    expect(JSON.stringify(app)).not.toContain(secret);

    const { body: started } = await orchestrator.api.post(`/api/apps/${app.id}/run`).expect(202);
    // While rclone streams, nobody else on the machine can read the passphrase from its command line.
    const processes = await waitFor(() => {
      const all = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).flatMap((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          return [{ pid: Number(pid), parent, commandLine: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') }];
        } catch {
          return [];
        }
      });
      return all.some(({ commandLine }) => /rclone rcat app_orquestador_crypt:\.hidden-/.test(commandLine)) ? all : undefined;
    });
    expect(processes.map(({ commandLine }) => commandLine).join('\n')).not.toContain(secret);
    // Nor any crypt password of it: the rclone processes this service (in this test's process) started show none.
    const ours = new Set([process.pid]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const { pid, parent } of processes) if (ours.has(parent) && !ours.has(pid)) grew = Boolean(ours.add(pid));
    }
    const rclones = processes.filter(({ pid, commandLine }) => ours.has(pid) && commandLine.startsWith('rclone'));
    expect(rclones.length).toBeGreaterThan(0);
    expect(rclones.map(({ commandLine }) => commandLine).join('\n')).not.toMatch(/password|crypt,/);
    const run = await waitForRunEnd(orchestrator, started.runId);
    expect(run.status).toBe('succeeded');
    const everything = JSON.stringify([
      run,
      (await orchestrator.api.get(`/api/apps/${app.id}`).expect(200)).body,
      (await orchestrator.api.get('/api/apps').expect(200)).body,
      (await orchestrator.api.get('/api/runs').expect(200)).body,
      (await orchestrator.api.get(`/api/apps/${app.id}/runs`).expect(200)).body,
      (await (await orchestrator.pages()).get(`/apps/${app.id}/edit`).expect(200)).text,
      (await (await orchestrator.pages()).get(`/apps/${app.id}`).expect(200)).text,
      (await (await orchestrator.pages()).get(`/runs/${run.id}`).expect(200)).text,
    ]);
    // Neither the passphrase, nor its sealed form (TokenCipher's "v1.<iv>.<tag>.<ciphertext>"), nor an rclone password.
    expect(everything.includes(secret)).toBe(false);
    expect(everything.match(/encryptionPassphraseEncrypted|v1\.[\w-]{16}\.[\w-]{22}\.|password='/g)).toBeNull();

    // Omitted keeps the stored passphrase; null removes it, which needs DEFAULT_ENCRYPTION_PASSPHRASE.
    const kept = await orchestrator.api.patch(`/api/apps/${app.id}`, { retention: 4 }).expect(200);
    expect(kept.body.hasEncryptionPassphrase).toBe(true);
    const removed = await orchestrator.api.patch(`/api/apps/${app.id}`, { encryptionPassphrase: null }).expect(400);
    expect(fieldsOf(removed.body)).toEqual(['encryptionPassphrase']);
    await orchestrator.api.patch(`/api/apps/${app.id}`, { encryption: 'none', encryptionPassphrase: null }).expect(200);
  });

  function base(name: string) {
    return { name, url: 'http://127.0.0.1:9', token: 'test-token', schedule: '0 3 * * *', driveFolderId: name, retention: 3 };
  }
});

describe('DEFAULT_ENCRYPTION_PASSPHRASE', () => {
  it('encrypts apps that have no passphrase of their own; their backups stay readable after the default changes', async () => {
    const contract = await startContractApp({ token: 'test-token' });
    contract.setMode({ size: SMALL });
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-default-pass-'));
    let orchestrator = await bootOrchestrator({ DATA_DIR: dataDir, DEFAULT_ENCRYPTION_PASSPHRASE: 'the default one' });
    try {
      const { body: app } = await orchestrator.api.post('/api/apps', {
        name: 'defaulted', url: contract.url, token: 'test-token', schedule: '0 3 * * *', driveFolderId: 'defaulted', retention: 3, encryption: 'rclone-crypt',
      }).expect(201);
      expect(app).toMatchObject({ encryption: 'rclone-crypt', hasEncryptionPassphrase: false });
      const run = (await runBackup(orchestrator, app.id)) as RunBody & { backupName: string };
      expect(run.status).toBe('succeeded');
      const folder = join(orchestrator.config.rclone.remote, 'defaulted');
      expect(sha256(decryptByHand({ remote: folder, config: '' }, 'the default one', run.backupName))).toBe(run.sha256);
      await orchestrator.close();

      orchestrator = await bootOrchestrator({ DATA_DIR: dataDir, DEFAULT_ENCRYPTION_PASSPHRASE: 'a newer default' });
      const { body: started } = await orchestrator.api.post(`/api/apps/${app.id}/verify`, { backup: run.backupName }).expect(202);
      expect((await waitForRunEnd(orchestrator, started.runId)).status).toBe('succeeded');
      const next = (await runBackup(orchestrator, app.id)) as RunBody & { backupName: string };
      expect(sha256(decryptByHand({ remote: folder, config: '' }, 'a newer default', next.backupName))).toBe(next.sha256);
      await orchestrator.close();

      // The default removed: the app's next backup fails before the app is asked for anything; older ones stay readable.
      orchestrator = await bootOrchestrator({ DATA_DIR: dataDir });
      const exports = contract.exports.length;
      const refused = await runBackup(orchestrator, app.id);
      expect(refused.status).toBe('failed');
      expect(refused.error).toBe('upload: nothing was asked of defaulted: encryption is "rclone-crypt" but the app has no passphrase and ' +
        'DEFAULT_ENCRYPTION_PASSPHRASE is not set: give the app one');
      expect(contract.exports.length).toBe(exports);
      const { body: again } = await orchestrator.api.post(`/api/apps/${app.id}/verify`, { backup: next.backupName }).expect(202);
      expect((await waitForRunEnd(orchestrator, again.runId)).status).toBe('succeeded');
    } finally {
      await orchestrator.close();
      await contract.close();
    }
  });
});
