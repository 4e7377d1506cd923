import { describe, expect, it } from 'vitest';
import type { RemoteEntry } from '../storage/rclone.adapter';
import { backupsOf, chooseBackupName, isBackupOf, chooseExtension, planRetention, takenAtOf, temporaryFilesOf, temporaryName } from './backup-names';

const NEWEST_ONLY = { last: 1, daily: 0, weekly: 0, monthly: 0, yearly: 0, timezone: 'UTC' };
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
  });

  it('reads what rclone crypt stored (".bin" appended) as the backup it holds, and never a plain name as encrypted', () => {
    const entries = [
      'billing-20250101T000000Z.db', 'billing-20250201T000000Z.db.bin', 'billing-20250301T000000Z.tar.gz.bin', 'billing-20250401T000000Z.bin',
      'billing-20250501T000000Z.bin.bin', 'billing-2-20250601T000000Z.db.bin', 'billing-20250701T000000Z.db.bak.bin', 'billing-20250801T000000Z.bin.bin.bin',
    ].map((name) => file(name));
    expect(backupsOf('billing', entries).map(({ name, storedName, encrypted }) => [name, storedName, encrypted])).toEqual([
      ['billing-20250501T000000Z.bin', 'billing-20250501T000000Z.bin.bin', true],
      ['billing-20250401T000000Z.bin', 'billing-20250401T000000Z.bin', false],
      ['billing-20250301T000000Z.tar.gz', 'billing-20250301T000000Z.tar.gz.bin', true],
      ['billing-20250201T000000Z.db', 'billing-20250201T000000Z.db.bin', true],
      ['billing-20250101T000000Z.db', 'billing-20250101T000000Z.db', false],
    ]);
    // A stored name is not a backup name: restore and verify take the name without ".bin".
    expect(isBackupOf('billing', 'billing-20250201T000000Z.db.bin')).toBe(false);
    // Names taken by either kind are taken.
    expect(chooseBackupName('billing', new Date('2025-02-01T00:00:00Z'), 'db', entries)).toBe('billing-20250201T000001Z.db');
    expect(temporaryFilesOf('billing', [file('.billing-20250701T000000Z.db.run12.partial.bin')])).toHaveLength(1);
  });

  describe('retention', () => {
    const names = (entries: RemoteEntry[]) => entries.map((entry) => entry.name);
    const current = 'billing-20260601T000000Z.db';
    const plan = (existing: string[], keep: number, recorded: string[] = []) =>
      planRetention('billing', [current, ...existing].map((name) => file(name)), { ...NEWEST_ONLY, last: keep }, current, new Set([current, ...recorded]));

    it("deletes this app's backups beyond the `keep` newest, and nothing else", () => {
      const result = plan(['billing-20250101T000000Z.db', 'billing-20250301T000000Z.tar.gz', 'billing-2-20250401T000000Z.db', 'notes.txt'], 2);
      expect(names(result.expired)).toEqual(['billing-20250101T000000Z.db']);
      expect(plan(['billing-20250101T000000Z.db'], 5).expired).toEqual([]);
    });

    it('rotates both kinds as one series and names what to delete by its stored name', () => {
      const result = plan(['billing-20260501T000000Z.db.bin', 'billing-20260401T000000Z.db', 'billing-20260301T000000Z.db.bin', 'billing-2-20250101T000000Z.db.bin'], 2);
      expect(result.expired.map(({ name, storedName }) => [name, storedName])).toEqual([
        ['billing-20260401T000000Z.db', 'billing-20260401T000000Z.db'],
        ['billing-20260301T000000Z.db', 'billing-20260301T000000Z.db.bin'],
      ]);
    });

    it('never deletes the current file, nor counts or deletes one named later than it', () => {
      const result = plan(['billing-20270101T000000Z.db', 'billing-20250101T000000Z.db'], 1);
      expect(names(result.future)).toEqual(['billing-20270101T000000Z.db']);
      expect(names(result.expired)).toEqual(['billing-20250101T000000Z.db']);
    });

    it('spares the newest recorded backups so that `keep` of them remain', () => {
      const planted = ['billing-20260501T000000Z.db', 'billing-20260401T000000Z.db'];
      const recorded = ['billing-20250301T000000Z.db', 'billing-20250201T000000Z.db', 'billing-20250101T000000Z.db'];
      const result = plan([...planted, ...recorded], 3, recorded);
      expect(names(result.spared)).toEqual(['billing-20250301T000000Z.db', 'billing-20250201T000000Z.db']);
      expect(names(result.expired)).toEqual(['billing-20250101T000000Z.db']);
    });
  });

  it('takes no name with an impossible time for a backup: it is never counted, kept by a rule or deleted', () => {
    const impossible = ['billing-20251332T250000Z.db', 'billing-20250229T000000Z.db', 'billing-20250101T236000Z.db'];
    expect(backupsOf('billing', [...impossible, 'billing-20240229T235959Z.db'].map((name) => file(name))).map((e) => e.name)).toEqual(['billing-20240229T235959Z.db']);
    for (const name of impossible) expect(isBackupOf('billing', name)).toBe(false);
    const current = 'billing-20260601T000000Z.db';
    const plan = planRetention('billing', [current, ...impossible].map((name) => file(name)), { ...NEWEST_ONLY, daily: 5 }, current, new Set([current]));
    expect(plan).toMatchObject({ expired: [], future: [], spared: [] });
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

describe('takenAtOf', () => {
  it('reads when a backup was taken from its name, and nothing from a name that is not one of the app\'s backups', () => {
    expect(takenAtOf('billing', 'billing-20261128T030005Z.tar.gz')).toEqual(new Date('2026-11-28T03:00:05Z'));
    expect(takenAtOf('billing', 'billing-2-20261128T030005Z.db')).toBeNull();
    expect(takenAtOf('billing', '.billing-20261128T030005Z.db.run4.partial')).toBeNull();
  });
});
