import { describe, expect, it } from 'vitest';
import type { RemoteEntry } from '../storage/rclone.adapter';
import { backupsOf, chooseBackupName, isBackupOf, chooseExtension, expiredBackups, temporaryFilesOf, temporaryName } from './backup-names';

const file = (name: string, isDir = false): RemoteEntry => ({ name, size: 1, modifiedAt: '2026-01-01T00:00:00Z', isDir });

describe('backup names', () => {
  it('names a backup after the app and the UTC second the run started', () => {
    expect(chooseBackupName('billing', new Date('2026-11-28T03:04:05.678Z'), 'db', [])).toBe('billing-20261128T030405Z.db');
  });

  it('moves to the next free second when the name is taken, whatever the extension', () => {
    const taken = [file('billing-20261128T030405Z.db'), file('billing-20261128T030406Z.sql')];
    expect(chooseBackupName('billing', new Date('2026-11-28T03:04:05Z'), 'db', taken)).toBe('billing-20261128T030407Z.db');
  });

  it('chooses the extension from capabilities, then Content-Disposition, then "bin"', () => {
    expect(chooseExtension('sql.gz', 'attachment; filename="x.db"')).toBe('sql.gz');
    expect(chooseExtension('.db')).toBe('db');
    expect(chooseExtension('../../etc', 'attachment; filename="dump.tar.gz"')).toBe('tar.gz');
    expect(chooseExtension(undefined, "attachment; filename*=UTF-8''dump.sqlite3")).toBe('sqlite3');
    expect(chooseExtension(42, 'inline')).toBe('bin');
    expect(chooseExtension('db.bak')).toBe('bin');
  });

  it("selects only this app's backups, newest first, ignoring look-alikes", () => {
    const entries = [
      'billing-20250101T000000Z.db', 'billing-20250301T000000Z.tar.gz', 'billing-2-20250401T000000Z.db', 'billing-20250201T000000Z.db.bak',
      'billing-20250501T000000Z', 'xbilling-20250601T000000Z.db', 'notes.txt', '.billing-20250701T000000Z.db.run3.partial',
    ].map((name) => file(name));
    entries.push(file('billing-20250801T000000Z.db', true));
    expect(backupsOf('billing', entries).map((e) => e.name)).toEqual(['billing-20250301T000000Z.tar.gz', 'billing-20250101T000000Z.db']);
    expect(expiredBackups('billing', entries, 1).map((e) => e.name)).toEqual(['billing-20250101T000000Z.db']);
    expect(expiredBackups('billing', entries, 5)).toEqual([]);
  });

  it('recognises temporary uploads and the run they belong to', () => {
    const temp = temporaryName('billing-20250701T000000Z.db', 12);
    expect(temp).toBe('.billing-20250701T000000Z.db.run12.partial');
    const entries = [file(temp), file('.billing-2-20250701T000000Z.db.run13.partial'), file('billing-20250701T000000Z.db')];
    expect(temporaryFilesOf('billing', entries)).toEqual([{ entry: entries[0], runId: 12 }]);
    expect(backupsOf('billing', [file(temp)])).toEqual([]);
    expect(isBackupOf('billing', temp)).toBe(false);
    expect(isBackupOf('billing', 'billing-20250701T000000Z.db')).toBe(true);
    expect(isBackupOf('billing', '../billing-20250701T000000Z.db')).toBe(false);
  });
});
