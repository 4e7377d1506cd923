import { describe, expect, it } from 'vitest';
import { BackupFailure } from './backup-failure';
import { parseSelftest, selftestPassed } from './selftest';

describe('parseSelftest', () => {
  it('keeps a well-formed answer', () => {
    const answer = { ok: true, checks: [{ name: 'rows in notes', ok: true, detail: '12430 rows' }, { name: 'migrations', ok: true }] };
    expect(parseSelftest(answer)).toEqual({ ok: true, checks: [{ name: 'rows in notes', ok: true, detail: '12430 rows' }, { name: 'migrations', ok: true, detail: null }] });
    expect(selftestPassed(parseSelftest(answer))).toBe(true);
  });

  it('refuses an answer without a boolean ok', () => {
    for (const body of [null, 'ok', [], { ok: 'true' }, { checks: [] }]) expect(() => parseSelftest(body)).toThrow(BackupFailure);
  });

  it('bounds what a hostile instance says: 50 checks, short single-line names and details', () => {
    const checks = Array.from({ length: 10_000 }, (_, i) => ({ name: `check\n${i}`.padEnd(5000, 'x'), ok: true, detail: 'd'.repeat(100_000) }));
    const parsed = parseSelftest({ ok: true, checks });
    expect(parsed.checks).toHaveLength(50);
    expect(parsed.checks[0].name).not.toContain('\n');
    expect(parsed.checks[0].name.length).toBeLessThan(150);
    expect(parsed.checks[0].detail!.length).toBeLessThan(550);
  });

  it('fails the drill when a check does not say it passed, even under ok: true', () => {
    expect(selftestPassed(parseSelftest({ ok: true, checks: [{ name: 'a', ok: 'yes' }] }))).toBe(false);
    expect(selftestPassed(parseSelftest({ ok: true, checks: ['not an object'] }))).toBe(false);
    expect(selftestPassed(parseSelftest({ ok: false }))).toBe(false);
  });
});
