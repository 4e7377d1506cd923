import { CRYPT_SUFFIX } from '../storage/rclone-crypt';
import type { RemoteEntry } from '../storage/rclone.adapter';

/**
 * Backup files are `{app}-{YYYYMMDD}T{HHMMSS}Z.{extension}` (UTC). App names are lowercase slugs, so
 * "billing-20261128T030000Z.db" can only belong to "billing", never to "billing-2" or anyone else.
 * In-flight uploads are `.{final name}.run{id}.partial` and never match the final pattern.
 * An encrypted backup is stored by rclone's crypt as `{name}.bin`; its name stays `{name}` everywhere
 * else (runs, API, restore), and both kinds are one series for naming and retention. No plain name ends
 * in ".{extension}.bin" (an extension is one word and an optional compression suffix), so the two never mix up.
 */
// One extension, optionally followed by a compression or encryption suffix ("tar.gz", "sql.zst"), and
// nothing else: a person's "billing-20261128T030000Z.db.bak" beside the backups is never taken for one.
const EXT = String.raw`([A-Za-z0-9]{1,16}(?:\.(?:gz|zst|xz|bz2|lz4|br|age|gpg))?)`;
const EXTENSION = new RegExp(`^${EXT}$`);
const STAMP = String.raw`(\d{8}T\d{6}Z)`;

export const DEFAULT_EXTENSION = 'bin';

function stampOf(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

const SUFFIX = CRYPT_SUFFIX.replace('.', '\\.');

/** The app's backup names; `stored` also matches what crypt stores (".bin" appended). */
function finalPattern(appName: string, stored = false): RegExp {
  return new RegExp(`^${appName}-${STAMP}\\.${EXT}${stored ? `(${SUFFIX})?` : ''}$`);
}

/** A backup file in the remote, under its backup name (without crypt's ".bin"). */
export interface BackupFile extends RemoteEntry {
  /** The name in the remote: `name`, or `name` + ".bin" when encrypted. */
  storedName: string;
  encrypted: boolean;
  /** The file's size in the remote (for an encrypted one, more than the backup's). */
  size: number;
}

/** Whether capabilities' `extension` can name backup files (a leading dot is tolerated). */
export function isExtension(value: string): boolean {
  return EXTENSION.test(value.replace(/^\./, ''));
}

/** The extension from capabilities, else from a Content-Disposition file name, else "bin". */
export function chooseExtension(fromCapabilities?: unknown, contentDisposition?: string): string {
  if (typeof fromCapabilities === 'string' && isExtension(fromCapabilities)) {
    return fromCapabilities.replace(/^\./, '');
  }
  const fileName = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(contentDisposition ?? '')?.[1];
  const extension = fileName && new RegExp(`\\.${EXT}$`).exec(fileName)?.[1];
  return extension ?? DEFAULT_EXTENSION;
}

/**
 * The final name for a run that started at `startedAt`. Runs of one app are serialised, but two can
 * start in the same second: the second is then named one second later, which keeps names unique and
 * their order true.
 */
export function chooseBackupName(appName: string, startedAt: Date, extension: string, existing: RemoteEntry[]): string {
  const taken = new Set(existing.map((entry) => finalPattern(appName, true).exec(entry.name)?.[1]).filter(Boolean));
  let at = new Date(Math.floor(startedAt.getTime() / 1000) * 1000);
  while (taken.has(stampOf(at))) at = new Date(at.getTime() + 1000);
  return `${appName}-${stampOf(at)}.${extension}`;
}

export function temporaryName(finalName: string, runId: number): string {
  return `.${finalName}.run${runId}.partial`;
}

/** Whether `fileName` is exactly one of this app's backup names (no paths, no look-alikes). */
export function isBackupOf(appName: string, fileName: string): boolean {
  return finalPattern(appName).test(fileName);
}

/** When the backup was taken: the start of its run, in its name (null for a name that is not one of the app's backups). */
export function takenAtOf(appName: string, fileName: string): Date | null {
  const stamp = finalPattern(appName).exec(fileName)?.[1];
  return stamp ? new Date(stamp.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')) : null;
}

/** This app's backups of both kinds, newest first (by the time in the name, which is when the run started). */
export function backupsOf(appName: string, entries: RemoteEntry[]): BackupFile[] {
  const pattern = finalPattern(appName, true);
  return entries
    .flatMap((entry) => {
      const match = entry.isDir ? null : pattern.exec(entry.name);
      if (!match) return [];
      const encrypted = match[3] !== undefined;
      return [{ ...entry, name: encrypted ? entry.name.slice(0, -CRYPT_SUFFIX.length) : entry.name, storedName: entry.name, encrypted }];
    })
    .sort((a, b) => pattern.exec(b.name)![1].localeCompare(pattern.exec(a.name)![1]));
}

export interface RetentionPlan {
  /** What retention deletes. */
  expired: BackupFile[];
  /** Named later than the current run (a clock that was ahead, or stepped back): neither counted nor deleted. */
  future: BackupFile[];
  /** Beyond the newest, but kept so that `keep` backups the run history recorded as succeeded remain. */
  spared: BackupFile[];
}

/**
 * Which of this app's backups the run that just stored `current` deletes to keep `keep` of them. The
 * current file always counts first and is never deleted; a name later than it says nothing about age, so
 * it is left alone rather than trusted as newer. Names alone can be planted or mistimed, so a deletion
 * that would leave fewer than `keep` of the `recorded` (succeeded in the history, `current` included)
 * is skipped: the newest recorded ones beyond the limit are spared.
 */
export function planRetention(appName: string, entries: RemoteEntry[], keep: number, current: string, recorded: Set<string>): RetentionPlan {
  const pattern = finalPattern(appName);
  const currentStamp = pattern.exec(current)![1];
  const backups = backupsOf(appName, entries);
  const future = backups.filter((entry) => pattern.exec(entry.name)![1] > currentStamp);
  const older = backups.filter((entry) => entry.name !== current && !future.includes(entry));
  const beyond = older.slice(Math.max(keep - 1, 0));
  let recordedLeft = backups.filter((entry) => recorded.has(entry.name) && !beyond.includes(entry)).length;
  const plan: RetentionPlan = { expired: [], future, spared: [] };
  for (const entry of beyond) {
    if (recorded.has(entry.name) && recordedLeft < keep) {
      plan.spared.push(entry);
      recordedLeft++;
    } else {
      plan.expired.push(entry);
    }
  }
  return plan;
}

/** Temporary files this app's runs left behind, with the run id each belongs to. */
export function temporaryFilesOf(appName: string, entries: RemoteEntry[]): { entry: RemoteEntry; runId: number }[] {
  const pattern = new RegExp(`^\\.${appName}-${STAMP}\\.${EXT}\\.run(\\d+)\\.partial(?:${SUFFIX})?$`);
  return entries.flatMap((entry) => {
    const match = pattern.exec(entry.name);
    return match && !entry.isDir ? [{ entry, runId: Number(match[3]) }] : [];
  });
}
