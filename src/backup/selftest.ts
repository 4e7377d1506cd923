import { english } from '../common/i18n';
import { printable } from '../common/printable';
import { BackupFailure } from './backup-failure';

/** A drill instance's answer to GET /backup/selftest (contract v1, optional): its verdict on the data it was just given. */
export interface Selftest {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string | null }[];
}

/** Kept on the run and shown on its page: an app's words, bounded like every other text from outside. */
const MAX_CHECKS = 50;
const MAX_NAME = 100;
const MAX_DETAIL = 500;

/** The answer as recorded, or a BackupFailure of step `selftest` when it is not `{ok: boolean, checks?: [...]}`. */
export function parseSelftest(body: unknown): Selftest {
  if (typeof body !== 'object' || body === null || typeof (body as { ok?: unknown }).ok !== 'boolean') {
    throw new BackupFailure('selftest', english('failure.selftestShape', { body: printable(JSON.stringify(body) ?? String(body), 200) }));
  }
  const { ok, checks } = body as { ok: boolean; checks?: unknown };
  const listed = Array.isArray(checks) ? checks.slice(0, MAX_CHECKS) : [];
  return {
    ok,
    checks: listed.map((check: unknown, index) => {
      const { name, ok: passed, detail } = (typeof check === 'object' && check !== null ? check : {}) as Record<string, unknown>;
      return {
        name: printable(typeof name === 'string' && name ? name : `#${index + 1}`, MAX_NAME),
        // A check that does not say it passed did not pass.
        ok: passed === true,
        detail: typeof detail === 'string' || typeof detail === 'number' ? printable(String(detail), MAX_DETAIL) : null,
      };
    }),
  };
}

/** The drill passed only if the instance says so and none of its checks says otherwise. */
export function selftestPassed(selftest: Selftest): boolean {
  return selftest.ok && selftest.checks.every((check) => check.ok);
}

/** A run's recorded answer, read back; null when there is none (or it cannot be read). */
export function selftestOf(recorded: string | null): Selftest | null {
  if (recorded === null) return null;
  try {
    return JSON.parse(recorded) as Selftest;
  } catch {
    return null;
  }
}
