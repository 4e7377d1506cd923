import { CRYPT_SUFFIX } from '../storage/rclone-crypt';
import type { RemoteEntry } from '../storage/rclone.adapter';
import { CALENDAR_RULES, keepReasons, KeepRule, RetentionPolicy } from './retention';

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

/** The time in a name is a real UTC second: "20250229T000000Z" or "20251332T250000Z" is nobody's backup. */
function isRealStamp(stamp: string): boolean {
  const at = madeAt(stamp);
  return !Number.isNaN(at.getTime()) && stampOf(at) === stamp;
}

/** Whether `fileName` is exactly one of this app's backup names (no paths, no look-alikes). */
export function isBackupOf(appName: string, fileName: string): boolean {
  const stamp = finalPattern(appName).exec(fileName)?.[1];
  return stamp !== undefined && isRealStamp(stamp);
}

/** When the backup was taken: the start of its run, in its name (null for a name that is not one of the app's backups). */
export function takenAtOf(appName: string, fileName: string): Date | null {
  const stamp = finalPattern(appName).exec(fileName)?.[1];
  return stamp !== undefined && isRealStamp(stamp) ? madeAt(stamp) : null;
}

/** This app's backups of both kinds, newest first (by the time in the name, which is when the run started). */
export function backupsOf(appName: string, entries: RemoteEntry[]): BackupFile[] {
  const pattern = finalPattern(appName, true);
  return entries
    .flatMap((entry) => {
      const match = entry.isDir ? null : pattern.exec(entry.name);
      if (!match || !isRealStamp(match[1])) return [];
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
  /** Kept by no rule, but kept so that `last` backups the run history recorded as succeeded remain. */
  spared: BackupFile[];
  /** The rules that keep each counted backup, by name (the current file and every other one not expired). */
  keptBy: Map<string, KeepRule[]>;
}

/** Why a file stays, as the backups list shows it: the rules, or a guard (recorded: spared; future: named after now). */
export const KEEP_REASONS = ['last', ...CALENDAR_RULES, 'recorded', 'future'] as const;
export type KeepReason = (typeof KEEP_REASONS)[number];

/** When the backup was made: the UTC second in its name. */
function madeAt(stamp: string): Date {
  return new Date(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`);
}

/**
 * Which of this app's backups the run that just stored `current` deletes under `policy` (see retention.ts).
 * The current file always counts first and is never deleted; a name later than it says nothing about age, so
 * it is left alone rather than trusted as newer. Names alone can be planted or mistimed, so a deletion that
 * would leave fewer than `policy.last` of the `recorded` (succeeded in the history, `current` included) is
 * skipped: the newest recorded ones no rule keeps are spared.
 */
export function planRetention(appName: string, entries: RemoteEntry[], policy: RetentionPolicy, current: string, recorded: Set<string>): RetentionPlan {
  const pattern = finalPattern(appName);
  const stamp = (entry: RemoteEntry) => pattern.exec(entry.name)![1];
  const currentStamp = pattern.exec(current)![1];
  const backups = backupsOf(appName, entries);
  const future = backups.filter((entry) => stamp(entry) > currentStamp);
  const counted = [
    ...backups.filter((entry) => entry.name === current),
    ...backups.filter((entry) => entry.name !== current && stamp(entry) <= currentStamp),
  ];
  const reasons = keepReasons(counted.map((entry) => madeAt(stamp(entry))), policy);
  const keptBy = new Map(counted.flatMap((entry, index) => (reasons[index].length > 0 || entry.name === current ? [[entry.name, reasons[index]]] : [])));
  const beyond = counted.filter((entry) => !keptBy.has(entry.name));
  let recordedLeft = backups.filter((entry) => recorded.has(entry.name)).length - beyond.filter((entry) => recorded.has(entry.name)).length;
  const plan: RetentionPlan = { expired: [], future, spared: [], keptBy };
  for (const entry of beyond) {
    if (recorded.has(entry.name) && recordedLeft < policy.last) {
      plan.spared.push(entry);
      recordedLeft++;
    } else {
      plan.expired.push(entry);
    }
  }
  return plan;
}

/**
 * What each of this app's backups is kept by today, newest first as listed: the newest one named no later
 * than `now` (or recorded as made by a run) stands for the run, as it would for a run now. A file kept by
 * nothing is deleted by the next successful run; newer backups only push files out, never back in, so a kept
 * file may still go later.
 */
export function previewRetention(appName: string, entries: RemoteEntry[], policy: RetentionPolicy, recorded: Set<string>, now: Date): Map<string, KeepReason[]> {
  const pattern = finalPattern(appName);
  const backups = backupsOf(appName, entries);
  // A recorded backup is named by this service: one named a second ahead (two runs in one second) is no clock error.
  const newest = backups.find((entry) => pattern.exec(entry.name)![1] <= stampOf(now) || recorded.has(entry.name));
  const reasons = new Map<string, KeepReason[]>(backups.map((entry) => [entry.name, ['future']]));
  if (!newest) return reasons;
  const plan = planRetention(appName, entries, policy, newest.name, recorded);
  for (const [name, rules] of plan.keptBy) reasons.set(name, rules);
  for (const { name } of plan.spared) reasons.set(name, ['recorded']);
  for (const { name } of plan.expired) reasons.set(name, []);
  return reasons;
}

/** Temporary files this app's runs left behind, with the run id each belongs to. */
export function temporaryFilesOf(appName: string, entries: RemoteEntry[]): { entry: RemoteEntry; runId: number }[] {
  const pattern = new RegExp(`^\\.${appName}-${STAMP}\\.${EXT}\\.run(\\d+)\\.partial(?:${SUFFIX})?$`);
  return entries.flatMap((entry) => {
    const match = pattern.exec(entry.name);
    return match && !entry.isDir ? [{ entry, runId: Number(match[3]) }] : [];
  });
}
