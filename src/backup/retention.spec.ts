import { describe, expect, it } from 'vitest';
import type { RemoteEntry } from '../storage/rclone.adapter';
import { planRetention, previewRetention } from './backup-names';
import { describeRetention, isoWeek, KeepRule, RetentionPolicy } from './retention';

const nameAt = (iso: string) => `billing-${iso.replace(/[-:]/g, '')}.db`;
const file = (name: string): RemoteEntry => ({ name, size: 1, modifiedAt: '2026-01-01T00:00:00Z', isDir: false });

/**
 * Plans retention for backups made at these instants (newest first: the first is the run's own file) and
 * answers, for each instant, the rules that keep it ([] = deleted). Every expectation below is worked by hand.
 */
function keptBy(instants: string[], rules: Partial<RetentionPolicy>): Record<string, KeepRule[]> {
  const names = instants.map(nameAt);
  const policy = { last: 1, daily: 0, weekly: 0, monthly: 0, yearly: 0, timezone: 'UTC', ...rules };
  const plan = planRetention('billing', names.map(file), policy, names[0], new Set(names));
  expect(plan.spared).toEqual([]);
  const expired = new Set(plan.expired.map((entry) => entry.name));
  return Object.fromEntries(instants.map((instant, index) => {
    expect(expired.has(names[index])).toBe(!plan.keptBy.has(names[index]));
    return [instant, plan.keptBy.get(names[index]) ?? []];
  }));
}

describe('calendar retention (restic forget semantics)', () => {
  it('keeps the newest backup of each of the last D days that have one: several a day, days without any', () => {
    expect(keptBy(['2026-03-10T22:00:00Z', '2026-03-10T08:00:00Z', '2026-03-09T23:59:59Z', '2026-03-09T00:00:00Z', '2026-03-07T12:00:00Z', '2026-03-06T12:00:00Z'], { daily: 3 }))
      .toEqual({
        '2026-03-10T22:00:00Z': ['last', 'daily'],
        '2026-03-10T08:00:00Z': [],
        '2026-03-09T23:59:59Z': ['daily'],
        '2026-03-09T00:00:00Z': [],
        // 8 March has no backup: it uses up no day, so the third day kept is the 7th.
        '2026-03-07T12:00:00Z': ['daily'],
        '2026-03-06T12:00:00Z': [],
      });
  });

  it('spans long gaps: a daily rule keeps D backups however far apart they are', () => {
    expect(keptBy(['2026-01-10T03:00:00Z', '2026-01-07T03:00:00Z', '2026-01-01T03:00:00Z', '2025-12-01T03:00:00Z'], { daily: 3 })).toEqual({
      '2026-01-10T03:00:00Z': ['last', 'daily'],
      '2026-01-07T03:00:00Z': ['daily'],
      '2026-01-01T03:00:00Z': ['daily'],
      '2025-12-01T03:00:00Z': [],
    });
  });

  it('keeps a backup when any rule keeps it, and the N newest whatever the calendar', () => {
    expect(keptBy(['2026-03-10T22:00:00Z', '2026-03-10T21:00:00Z', '2026-03-10T20:00:00Z', '2026-03-09T20:00:00Z', '2026-02-01T00:00:00Z'], { last: 2, daily: 2, monthly: 2 }))
      .toEqual({
        '2026-03-10T22:00:00Z': ['last', 'daily', 'monthly'],
        '2026-03-10T21:00:00Z': ['last'],
        '2026-03-10T20:00:00Z': [],
        '2026-03-09T20:00:00Z': ['daily'],
        '2026-02-01T00:00:00Z': ['monthly'],
      });
  });

  it('reads month ends and 29 February as calendar days (leap year), and years as calendar years', () => {
    expect(keptBy(['2024-03-01T00:00:00Z', '2024-02-29T23:59:59Z', '2024-02-29T10:00:00Z', '2024-02-01T00:00:00Z', '2024-01-31T23:59:59Z', '2023-12-31T12:00:00Z'], { daily: 2, monthly: 3, yearly: 2 }))
      .toEqual({
        '2024-03-01T00:00:00Z': ['last', 'daily', 'monthly', 'yearly'],
        '2024-02-29T23:59:59Z': ['daily', 'monthly'],
        '2024-02-29T10:00:00Z': [],
        '2024-02-01T00:00:00Z': [],
        '2024-01-31T23:59:59Z': ['monthly'],
        '2023-12-31T12:00:00Z': ['yearly'],
      });
  });

  it("reads months on the app's wall clock: in Madrid the last UTC hour of a month is the next month", () => {
    // Madrid is UTC+1 in winter: 29 Feb 23:59:59Z is 1 March 00:59:59, 31 Jan 23:59:59Z is 1 February.
    expect(keptBy(['2024-03-01T00:00:00Z', '2024-02-29T23:59:59Z', '2024-02-29T10:00:00Z', '2024-02-01T00:00:00Z', '2024-01-31T23:59:59Z', '2023-12-31T12:00:00Z'], { monthly: 3, timezone: 'Europe/Madrid' }))
      .toEqual({
        '2024-03-01T00:00:00Z': ['last', 'monthly'],
        '2024-02-29T23:59:59Z': [],
        '2024-02-29T10:00:00Z': ['monthly'],
        '2024-02-01T00:00:00Z': [],
        '2024-01-31T23:59:59Z': [],
        '2023-12-31T12:00:00Z': ['monthly'],
      });
  });

  it('follows daylight saving time: days in Madrid around the October change have 25 hours', () => {
    // 25 Oct 2026 01:00Z: CEST (UTC+2) becomes CET (UTC+1).
    const instants = ['2026-10-25T23:30:00Z', '2026-10-25T22:30:00Z', '2026-10-24T22:30:00Z', '2026-10-24T21:30:00Z'];
    expect(keptBy(instants, { daily: 3, timezone: 'Europe/Madrid' })).toEqual({
      '2026-10-25T23:30:00Z': ['last', 'daily'], // 26 Oct 00:30 CET
      '2026-10-25T22:30:00Z': ['daily'], // 25 Oct 23:30 CET
      '2026-10-24T22:30:00Z': [], // 25 Oct 00:30 CEST: same day, older
      '2026-10-24T21:30:00Z': ['daily'], // 24 Oct 23:30 CEST
    });
    // In UTC the same files fall on other days.
    expect(keptBy(instants, { daily: 3 })).toEqual({
      '2026-10-25T23:30:00Z': ['last', 'daily'],
      '2026-10-25T22:30:00Z': [],
      '2026-10-24T22:30:00Z': ['daily'],
      '2026-10-24T21:30:00Z': [],
    });
  });

  it('follows the spring change too: the short day in Madrid is one day', () => {
    // 29 Mar 2026 01:00Z: CET (UTC+1) becomes CEST (UTC+2).
    expect(keptBy(['2026-03-29T22:30:00Z', '2026-03-29T21:30:00Z', '2026-03-28T23:30:00Z', '2026-03-28T22:30:00Z'], { daily: 3, timezone: 'Europe/Madrid' })).toEqual({
      '2026-03-29T22:30:00Z': ['last', 'daily'], // 30 Mar 00:30 CEST
      '2026-03-29T21:30:00Z': ['daily'], // 29 Mar 23:30 CEST
      '2026-03-28T23:30:00Z': [], // 29 Mar 00:30 CET: same day, older
      '2026-03-28T22:30:00Z': ['daily'], // 28 Mar 23:30 CET
    });
  });

  it("reads days in the app's zone far from UTC (Auckland, UTC+13 in January)", () => {
    const instants = ['2026-01-10T11:30:00Z', '2026-01-10T10:30:00Z', '2026-01-10T09:00:00Z'];
    expect(keptBy(instants, { daily: 2, timezone: 'Pacific/Auckland' })).toEqual({
      '2026-01-10T11:30:00Z': ['last', 'daily'], // 11 Jan 00:30
      '2026-01-10T10:30:00Z': ['daily'], // 10 Jan 23:30
      '2026-01-10T09:00:00Z': [],
    });
    expect(keptBy(instants, { daily: 2 })).toEqual({ '2026-01-10T11:30:00Z': ['last', 'daily'], '2026-01-10T10:30:00Z': [], '2026-01-10T09:00:00Z': [] });
  });

  it('counts ISO weeks (Monday to Sunday), with week 53 spanning the new year', () => {
    expect(isoWeek(2026, 12, 28)).toEqual({ year: 2026, week: 53 });
    expect(isoWeek(2027, 1, 3)).toEqual({ year: 2026, week: 53 });
    expect(isoWeek(2027, 1, 4)).toEqual({ year: 2027, week: 1 });
    expect(isoWeek(2021, 1, 1)).toEqual({ year: 2020, week: 53 });
    expect(isoWeek(2024, 12, 30)).toEqual({ year: 2025, week: 1 });
    expect(isoWeek(2023, 1, 1)).toEqual({ year: 2022, week: 52 });
    expect(isoWeek(2024, 2, 29)).toEqual({ year: 2024, week: 9 });
    expect(keptBy(['2027-01-04T00:00:00Z', '2027-01-03T23:00:00Z', '2026-12-28T00:00:00Z', '2026-12-27T12:00:00Z', '2026-12-21T00:00:00Z', '2026-12-20T00:00:00Z'], { weekly: 3 }))
      .toEqual({
        '2027-01-04T00:00:00Z': ['last', 'weekly'], // 2027-W01
        '2027-01-03T23:00:00Z': ['weekly'], // 2026-W53, across the new year
        '2026-12-28T00:00:00Z': [], // 2026-W53, older
        '2026-12-27T12:00:00Z': ['weekly'], // 2026-W52 (a Sunday)
        '2026-12-21T00:00:00Z': [],
        '2026-12-20T00:00:00Z': [],
      });
  });

  it('keeps the hardening rules: the run\'s own file, later names neither counted nor deleted, recorded backups spared', () => {
    const current = nameAt('2026-06-01T00:00:00Z');
    const later = nameAt('2027-01-01T00:00:00Z');
    const planted = [nameAt('2026-05-31T00:00:00Z'), nameAt('2026-05-30T00:00:00Z')];
    const recorded = [nameAt('2026-04-01T00:00:00Z'), nameAt('2026-03-01T00:00:00Z')];
    const listing = [later, current, ...planted, ...recorded, 'billing-2-20260401T000000Z.db', 'notes.txt'].map(file);
    const plan = planRetention('billing', listing, { last: 2, daily: 3, weekly: 0, monthly: 0, yearly: 0, timezone: 'UTC' }, current, new Set([current, ...recorded]));
    expect(plan.future.map((entry) => entry.name)).toEqual([later]);
    // The later file takes no day: the current file is still the newest of its day.
    expect(plan.keptBy.get(current)).toEqual(['last', 'daily']);
    expect(plan.keptBy.get(planted[0])).toEqual(['last', 'daily']);
    expect(plan.keptBy.get(planted[1])).toEqual(['daily']);
    // No rule keeps the recorded ones, but deleting both would leave one recorded backup: the newer is spared.
    expect(plan.spared.map((entry) => entry.name)).toEqual([recorded[0]]);
    expect(plan.expired.map((entry) => entry.name)).toEqual([recorded[1]]);
  });

  it('previews what the next run keeps: the newest file up to now stands for the run', () => {
    const now = new Date('2026-06-01T12:00:00Z');
    const names = ['2026-07-01T00:00:00Z', '2026-06-01T00:00:00Z', '2026-05-31T10:00:00Z', '2026-05-31T09:00:00Z', '2026-05-01T00:00:00Z'].map(nameAt);
    const preview = previewRetention('billing', names.map(file), { last: 1, daily: 2, weekly: 0, monthly: 0, yearly: 0, timezone: 'UTC' }, new Set([names[4]]), now);
    expect(Object.fromEntries(preview)).toEqual({
      [names[0]]: ['future'],
      [names[1]]: ['last', 'daily'],
      [names[2]]: ['daily'],
      [names[3]]: [],
      // Recorded as succeeded, kept by no rule, and the only recorded one: spared.
      [names[4]]: ['recorded'],
    });
    // A recorded backup named a second ahead (two runs in one second) stands for the run: it is no clock error.
    const ahead = nameAt('2026-06-01T12:00:01Z');
    const withAhead = previewRetention('billing', [ahead, ...names].map(file), { last: 1, daily: 2, weekly: 0, monthly: 0, yearly: 0, timezone: 'UTC' }, new Set([ahead]), now);
    expect(withAhead.get(ahead)).toEqual(['last', 'daily']);
    expect(withAhead.get(names[1])).toEqual([]);
  });

  it('describes a policy in words, leaving out the rules that are off', () => {
    const phrase = (rule: string, n: number) => `${rule}=${n}`;
    expect(describeRetention({ last: 7, daily: 14, weekly: 0, monthly: 12, yearly: 0 }, phrase)).toBe('last=7, daily=14, monthly=12');
  });
});
