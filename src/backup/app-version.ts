import { english } from '../common/i18n';
import { printable } from '../common/printable';

/** What an app says of itself in its capabilities (`app`), all free text: contract v1, optional. */
export interface AppVersion {
  name: string | null;
  version: string | null;
  schemaVersion: string | null;
}

/**
 * Each field is shown in logs, lists and pages: long enough for any version scheme, short enough for a table
 * cell. Longer text is cut to this with a note of its length, which still fits the 100 characters of its column.
 */
const MAX_FIELD = 64;

/** The `app` object of a capabilities answer, or null when it is absent or says nothing usable. */
export function appVersionOf(app: unknown): AppVersion | null {
  if (typeof app !== 'object' || app === null || Array.isArray(app)) return null;
  const field = (value: unknown) => {
    if (typeof value !== 'string' && typeof value !== 'number') return null;
    const text = printable(String(value).trim(), MAX_FIELD).slice(0, 100);
    return text === '' ? null : text;
  };
  const { name, version, schemaVersion } = app as Record<string, unknown>;
  const parsed = { name: field(name), version: field(version), schemaVersion: field(schemaVersion) };
  return parsed.name === null && parsed.version === null && parsed.schemaVersion === null ? null : parsed;
}

/** The run columns that record it (see RunEntity). */
export function appVersionColumns(app: AppVersion | null | undefined) {
  return { appReportedName: app?.name ?? null, appVersion: app?.version ?? null, appSchemaVersion: app?.schemaVersion ?? null };
}

/** Read back from a run's columns; null when the backup's app reported nothing. */
export function recordedAppVersion(run: { appReportedName: string | null; appVersion: string | null; appSchemaVersion: string | null }): AppVersion | null {
  const { appReportedName: name, appVersion: version, appSchemaVersion: schemaVersion } = run;
  return name === null && version === null && schemaVersion === null ? null : { name, version, schemaVersion };
}

/**
 * Orders two schema versions "naturally": split into runs of digits and runs of anything else, digit runs
 * compared as numbers (so 10 > 9, 2026_11_01 < 2026_12_01, 4.10 > 4.9, 007 = 7), the rest by character code;
 * a version that is a prefix of the other is older (4.2 < 4.2.1). Negative: `a` is older; 0: the same; positive: newer.
 * Apps use dates, integers and dotted numbers alike, and every one of those orders correctly this way.
 */
export function compareSchemaVersions(a: string, b: string): number {
  const left = tokens(a);
  const right = tokens(b);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const order = compareTokens(left[i], right[i]);
    if (order !== 0) return order;
  }
  return Math.sign(left.length - right.length);
}

function tokens(version: string): string[] {
  return version.match(/\d+|\D+/g) ?? [];
}

function compareTokens(a: string, b: string): number {
  const digits = /^\d/;
  if (digits.test(a) && digits.test(b)) {
    const x = a.replace(/^0+(?=\d)/, '');
    const y = b.replace(/^0+(?=\d)/, '');
    // Compared as text of equal length, any number of digits orders right (no float or BigInt needed).
    return x.length !== y.length ? Math.sign(x.length - y.length) : x < y ? -1 : x > y ? 1 : 0;
  }
  // A number sorts before text at the same place (4.2.1 vs 4.2-beta are at least ordered the same every time).
  if (digits.test(a) !== digits.test(b)) return digits.test(a) ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The run log's line about it (an app that says nothing gets no line: most apps). */
export function describeAppVersion(app: AppVersion): string {
  const none = english('log.notGiven');
  return english('log.appVersion', { name: app.name ?? none, version: app.version ?? none, schema: app.schemaVersion ?? none });
}

/** How a backup's schema version stands against the one its target runs now. */
export interface SchemaComparison {
  /** The backup was made with a newer schema: restoring it needs `force`. */
  newer: boolean;
  /** For the run log; with `newer`, the reason the restore is refused. */
  text: string;
}

/**
 * Compares only what both sides said: a backup that recorded no schema version (an older backup, or an app that
 * never said one) or a target that announces none now cannot be judged, and proceeds with a log line saying so.
 */
export function compareSchemas(backupName: string, made: AppVersion | null, now: AppVersion | null): SchemaComparison {
  const backup = made?.schemaVersion ?? null;
  const current = now?.schemaVersion ?? null;
  if (backup === null) return { newer: false, text: english('log.schemaBackupNone', { current: current ?? english('log.notGiven') }) };
  if (current === null) return { newer: false, text: english('log.schemaAppNone', { backup }) };
  const order = compareSchemaVersions(backup, current);
  if (order > 0) return { newer: true, text: english('failure.schemaNewer', { name: backupName, backup, current }) };
  return { newer: false, text: english(order === 0 ? 'log.schemaSame' : 'log.schemaOlder', { backup, current }) };
}
