import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WebdavRemote {
  /** The folder the server serves, to look at what arrived. */
  root: string;
  /** An rclone.conf that defines the remote `dav:` for it. */
  configPath: string;
  /** The same remote as an on-the-fly connection string, needing no config: several servers at once. */
  remote: string;
  port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A real WebDAV remote: `rclone serve webdav` on 127.0.0.1, vendor "other" (cannot stream unknown sizes). */
export async function startWebdav(at: { root?: string; port?: number } = {}): Promise<WebdavRemote> {
  const root = at.root ?? mkdtempSync(join(tmpdir(), 'orquestador-dav-root-'));
  const port = at.port ?? (await freePort());
  const server: ChildProcess = spawn('rclone', ['serve', 'webdav', root, '--addr', `127.0.0.1:${port}`], { stdio: 'ignore' });
  const configPath = join(mkdtempSync(join(tmpdir(), 'orquestador-dav-conf-')), 'rclone.conf');
  writeFileSync(configPath, `[dav]\ntype = webdav\nurl = http://127.0.0.1:${port}/\nvendor = other\n`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await fetch(`http://127.0.0.1:${port}/`, { method: 'PROPFIND', headers: { Depth: '0' } }).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error('rclone serve webdav did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    root,
    configPath,
    remote: `:webdav,url='http://127.0.0.1:${port}/',vendor=other:`,
    port,
    stop: () =>
      new Promise((resolve) => {
        server.once('close', () => resolve());
        server.kill();
      }),
  };
}
