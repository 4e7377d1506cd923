import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Logger } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppConfig } from '../config/app-config';
import { RcloneCliAdapter } from './rclone-cli.adapter';
import { RcloneDaemon, RcloneRcError } from './rclone-daemon';
import { RcloneRcdAdapter, splitPath } from './rclone-rcd.adapter';
import { cryptFolder } from './rclone-crypt';
import { RcloneError } from './rclone.adapter';

/** The `rclone rcd` processes this test process started. */
function daemonPids(): number[] {
  const out = execFileSync('ps', ['--ppid', String(process.pid), '-o', 'pid=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((line) => / rcd /.test(line)).map((line) => Number(line.trim().split(/\s+/)[0]));
}

function adapterFor(root: string, bin = 'rclone'): RcloneRcdAdapter {
  // A remote from the config file, as with RCLONE_CONFIG, and one from the environment only.
  const configPath = join(root, 'rclone.conf');
  writeFileSync(configPath, `[filed]\ntype = alias\nremote = ${root}/filed\n`);
  process.env.RCLONE_CONFIG_ENVIRONED_TYPE = 'alias';
  process.env.RCLONE_CONFIG_ENVIRONED_REMOTE = `${root}/environed`;
  const config = { tmpDir: join(root, 'tmp'), rclone: { remote: root, bin, configPath } } as AppConfig;
  return new RcloneRcdAdapter(config, new RcloneCliAdapter(config));
}

describe('RcloneRcdAdapter (a real rclone rcd)', () => {
  const root = mkdtempSync(join(tmpdir(), 'orquestador-rcd-'));
  let adapter: RcloneRcdAdapter;

  beforeAll(() => {
    adapter = adapterFor(root);
    adapter.onApplicationBootstrap();
  });
  afterAll(() => adapter.onApplicationShutdown());
  afterEach(() => vi.restoreAllMocks());

  it.each([
    ['a local folder', `${root}/plain`, 'plain'],
    ['an on-the-fly remote', `:local:${root}/inline`, 'inline'],
    ['an on-the-fly remote with options', `:local,case_insensitive=false:${root}/options`, 'options'],
    ['a remote from the config file', 'filed:', 'filed'],
    ['a remote defined by RCLONE_CONFIG_* variables', 'environed:sub', 'environed/sub'],
  ])('lists, moves and deletes in %s', async (_, folder, onDisk) => {
    expect(await adapter.list(folder)).toEqual([]); // not there yet: no backups
    mkdirSync(join(root, onDisk), { recursive: true });
    writeFileSync(join(root, onDisk, '.a.partial'), 'twelve bytes');
    const file = (name: string) => (folder.endsWith(':') ? `${folder}${name}` : `${folder}/${name}`);

    await adapter.moveTo(file('.a.partial'), file('a.db'));
    expect(readdirSync(join(root, onDisk))).toEqual(['a.db']);
    expect(await adapter.list(folder)).toEqual([{ name: 'a.db', size: 12, modifiedAt: expect.any(String), isDir: false }]);
    await adapter.deleteFile(file('a.db'));
    expect(readdirSync(join(root, onDisk))).toEqual([]);
  });

  it('maps rclone\'s "not found" to notFound, and keeps rclone\'s own words in every error', async () => {
    const missing = await adapter.deleteFile(`${root}/nothing/here.db`).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(RcloneError);
    expect((missing as RcloneError).notFound).toBe(true);
    expect((missing as Error).message).toBe('rclone operations/deletefile failed (HTTP 404): object not found');
    await expect(adapter.moveTo(`${root}/nothing/a`, `${root}/nothing/b`)).rejects.toMatchObject({ notFound: true });

    const unknown = await adapter.list('nowhere:').catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(RcloneError);
    expect((unknown as RcloneError).notFound).toBe(false);
    expect((unknown as Error).message).toMatch(/^rclone operations\/list failed \(HTTP 500\): didn't find section in config file/);
  });

  describe('an upload of known size under 1 MiB, through the daemon', () => {
    it('stores every byte under the name', async () => {
      const bytes = randomBytes(70_000);
      await adapter.rcat(`${root}/up/.a.partial`, Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), { size: bytes.length });
      expect(readFileSync(join(root, 'up', '.a.partial')).equals(bytes)).toBe(true);
    });

    it.each([
      ['fails', (source: PassThrough) => source.destroy(new Error('the app went away')), /the app went away/],
      ['closes early', (source: PassThrough) => source.destroy(), /premature close/i],
    ])('never lets rclone see a source that %s: nothing is stored', async (_, breakIt, error) => {
      const source = new PassThrough();
      const upload = adapter.rcat(`${root}/broken/.b.partial`, source, { size: 50_000 });
      source.write(randomBytes(20_000));
      breakIt(source);
      await expect(upload).rejects.toThrow(error);
      expect(readdirSync(root)).not.toContain('broken');
    });

    it('stops reading when aborted, with the abort\'s reason, and stores nothing', async () => {
      const source = new PassThrough();
      const stop = new AbortController();
      const upload = adapter.rcat(`${root}/aborted/.c.partial`, source, { size: 50_000, signal: stop.signal });
      source.write(randomBytes(20_000));
      stop.abort(new Error('stalled'));
      await expect(upload).rejects.toThrow('stalled');
      expect(source.destroyed).toBe(true);
      expect(readdirSync(root)).not.toContain('aborted');
    });
  });

  it('stores and lists through a crypt folder, and never shows its password in an error', async () => {
    const crypt = cryptFolder(join(root, 'vault'), 'daemon passphrase');
    await adapter.rcat({ crypt, name: 'small.db' }, Readable.from([Buffer.from('a small backup')]), { size: 14 });
    expect(readdirSync(join(root, 'vault'))).toEqual(['small.db.bin']);
    expect(await adapter.list({ crypt, name: '' })).toEqual([expect.objectContaining({ name: 'small.db', size: 14 })]);
    // rclone's messages may quote the inline remote (the CLI's "Failed to create file system for …" does):
    // whatever it says, the error keeps its words but not the password.
    const said = `Failed to create file system for "${splitPath({ crypt, name: '' }).fs}": directory not found`;
    for (const error of [new RcloneRcError('operations/list', 500, said), new RcloneError('cat', 1, said)]) {
      expect(error.message).toContain('directory not found');
      expect(error.message).toContain('password=***');
      expect(error.message).not.toContain(crypt.password);
    }
  });

  it('reports the version as `rclone version` does', async () => {
    expect(await adapter.version()).toMatch(/^rclone v1\.\d+/);
  });

  it('starts rclone again on the next call after it died, and says so in the log', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await adapter.version();
    const [first] = daemonPids();
    process.kill(first, 'SIGKILL');

    expect(await adapter.list(`${root}/plain`)).toEqual([]);
    expect(daemonPids()).not.toContain(first);
    expect(daemonPids()).toHaveLength(1);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^rclone rcd exited \(SIGKILL\).*started again on the next call/));
  });

  it('stops rclone with the service', async () => {
    const own = adapterFor(mkdtempSync(join(tmpdir(), 'orquestador-rcd-')));
    const before = daemonPids();
    await own.version();
    const [started] = daemonPids().filter((pid) => !before.includes(pid));
    await own.onApplicationShutdown();
    expect(daemonPids()).not.toContain(started);
    await expect(own.version()).rejects.toThrow(/shutting down/);
  });

  it('fails every call with a clear error when rclone cannot start, and starts once it can', async () => {
    const broken = adapterFor(mkdtempSync(join(tmpdir(), 'orquestador-rcd-')), '/nonexistent/rclone');
    await expect(broken.version()).rejects.toThrow('rclone not found at "/nonexistent/rclone"');
    await expect(broken.list(root)).rejects.toThrow('rclone not found');
  });
});

describe('RcloneDaemon', () => {
  let daemon: RcloneDaemon;
  beforeAll(async () => {
    daemon = await RcloneDaemon.start({ bin: 'rclone', tmpDir: tmpdir() });
  });
  afterAll(() => daemon.stop());

  it('answers only on 127.0.0.1 and only with its own credentials, which are not on its command line', async () => {
    const url = `http://127.0.0.1:${daemon.port}/core/version`;
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
    const wrong = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
    expect((await fetch(url, { method: 'POST', headers: { Authorization: wrong } })).status).toBe(401);
    expect(await daemon.call('core/version', {})).toMatchObject({ version: expect.stringMatching(/^v1\./) });

    const listening = execFileSync('ss', ['-Htlnp'], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(`pid=${daemon.pid},`));
    expect(listening.map((line) => line.split(/\s+/)[3])).toEqual([`127.0.0.1:${daemon.port}`]);
    expect(readFileSync(`/proc/${daemon.pid}/cmdline`, 'utf8')).not.toMatch(/rc-user|rc-pass/);
  });

  it('turns an error answer into an RcloneRcError with rclone\'s words', async () => {
    await expect(daemon.call('rc/error', {})).rejects.toEqual(new RcloneRcError('rc/error', 500, 'arbitrary error on input map[]'));
  });
});

describe('splitPath', () => {
  it('cuts at the last "/" or ":", whatever the remote\'s options hold', () => {
    expect(splitPath('/srv/backups/billing/a.db')).toEqual({ fs: '/srv/backups/billing', remote: 'a.db' });
    expect(splitPath('dav:team/billing/a.db')).toEqual({ fs: 'dav:team/billing', remote: 'a.db' });
    expect(splitPath('gdrive,root_folder_id=1AbC:a.db')).toEqual({ fs: 'gdrive,root_folder_id=1AbC:', remote: 'a.db' });
    expect(splitPath(":webdav,url='http://h:8080/dav/':a.db")).toEqual({ fs: ":webdav,url='http://h:8080/dav/':", remote: 'a.db' });
  });
});
