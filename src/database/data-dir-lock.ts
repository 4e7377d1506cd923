import { readFileSync, rmSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { OnApplicationShutdown } from '@nestjs/common';
import Database from 'better-sqlite3';

const LOCK_FILE = 'orquestador.lock';
const OWNER_FILE = 'orquestador.lock.owner';

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

export class DataDirInUseError extends Error {
  constructor(dataDir: string, owner: LockOwner | null) {
    const who = owner ? `process ${owner.pid} on host ${owner.host}, running since ${owner.since}` : 'another process';
    super(
      `DATA_DIR ${dataDir} is in use by ${who}. Only one app-orquestador may use a data folder at a time: ` +
        'stop the other one first (with a rolling update, stop the old container before starting the new one).',
    );
  }
}

/**
 * One process per DATA_DIR. The lock is SQLite's own exclusive lock on a file of its own: an OS-level
 * (fcntl) lock that the kernel releases when the process dies, so a crash never leaves a stale lock, and
 * a second process learns at once that the folder is taken, before it touches anything in it.
 */
export class DataDirLock implements OnApplicationShutdown {
  private constructor(
    private readonly handle: Database.Database,
    private readonly ownerPath: string,
  ) {}

  /** Takes the lock or throws DataDirInUseError naming the holder. */
  static acquire(dataDir: string): DataDirLock {
    const ownerPath = join(dataDir, OWNER_FILE);
    const handle = new Database(join(dataDir, LOCK_FILE), { timeout: 0 });
    try {
      // The lock file holds no data: no journal file beside it either.
      handle.pragma('journal_mode = OFF');
      handle.pragma('locking_mode = EXCLUSIVE');
      handle.exec('BEGIN EXCLUSIVE');
    } catch (error) {
      handle.close();
      if ((error as { code?: string }).code === 'SQLITE_BUSY') throw new DataDirInUseError(dataDir, readOwner(ownerPath));
      throw error;
    }
    const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    writeFileSync(ownerPath, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
    return new DataDirLock(handle, ownerPath);
  }

  release(): void {
    if (!this.handle.open) return;
    rmSync(this.ownerPath, { force: true });
    this.handle.close();
  }

  onApplicationShutdown(): void {
    this.release();
  }
}

function readOwner(path: string): LockOwner | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
  } catch {
    return null;
  }
}

/**
 * The private folder where rclone spools. Whatever is in it belongs to a previous process (this one
 * holds the lock), so it is emptied: a crash never leaves backup data behind for long.
 */
export function resetPrivateTmpDir(path: string): void {
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
}
