import { Locale, MessageKey, translate } from '../common/i18n';

/**
 * Calendar retention with the semantics of `restic forget`: `last` keeps the N newest backups; each calendar
 * rule keeps, for each of the last D days (ISO weeks, months, years) that have a backup, that period's newest
 * backup. A backup is kept if any rule keeps it. Periods are read on the app's wall clock (its time zone), so
 * "one a day" means the admin's days, not UTC's.
 */
export const CALENDAR_RULES = ['daily', 'weekly', 'monthly', 'yearly'] as const;
export type CalendarRule = (typeof CALENDAR_RULES)[number];
export type KeepRule = 'last' | CalendarRule;

export interface RetentionPolicy {
  /** The N newest (the app's `retention`, at least 1). */
  last: number;
  daily: number;
  weekly: number;
  monthly: number;
  yearly: number;
  /** IANA zone the calendar periods are read in. */
  timezone: string;
}

/** What an app stores: `retention` plus the optional keepDaily/keepWeekly/keepMonthly/keepYearly (0: rule off). */
export function policyOf(
  app: { retention: number; keepDaily: number; keepWeekly: number; keepMonthly: number; keepYearly: number },
  timezone: string,
): RetentionPolicy {
  return { last: app.retention, daily: app.keepDaily, weekly: app.keepWeekly, monthly: app.keepMonthly, yearly: app.keepYearly, timezone };
}

const dateParts = new Map<string, Intl.DateTimeFormat>();

/** The calendar date of an instant on the zone's wall clock. */
function localDate(at: Date, timezone: string): { year: number; month: number; day: number } {
  let format = dateParts.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, year: 'numeric', month: 'numeric', day: 'numeric' });
    dateParts.set(timezone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(at).map((part) => [part.type, part.value]));
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day) };
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** ISO 8601 week of a calendar date: weeks start on Monday, and week 1 holds the year's first Thursday. */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = new Date(Date.UTC(year, month - 1, day));
  // The Thursday of the same Monday-to-Sunday week decides which year the week belongs to.
  date.setUTCDate(date.getUTCDate() + 3 - ((date.getUTCDay() + 6) % 7));
  const thursdayYear = date.getUTCFullYear();
  const ordinal = (date.getTime() - Date.UTC(thursdayYear, 0, 1)) / 86_400_000;
  return { year: thursdayYear, week: Math.floor(ordinal / 7) + 1 };
}

/** The period an instant falls in for a rule, as a key that compares equal within the period. */
export function periodOf(rule: CalendarRule, at: Date, timezone: string): string {
  const { year, month, day } = localDate(at, timezone);
  switch (rule) {
    case 'daily':
      return `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
    case 'weekly': {
      const week = isoWeek(year, month, day);
      return `${pad(week.year, 4)}-W${pad(week.week)}`;
    }
    case 'monthly':
      return `${pad(year, 4)}-${pad(month)}`;
    case 'yearly':
      return pad(year, 4);
  }
}

/**
 * Which rules keep each backup, for backups given newest first (by the time each was made). Walking from the
 * newest, a rule keeps the first backup of each new period until it has kept as many periods as it counts:
 * that is the newest backup of each of its last D periods that have one; periods without a backup use up nothing.
 */
export function keepReasons(madeAt: Date[], policy: RetentionPolicy): KeepRule[][] {
  const reasons = madeAt.map((_, index): KeepRule[] => (index < policy.last ? ['last'] : []));
  for (const rule of CALENDAR_RULES) {
    let left = policy[rule];
    let previous: string | null = null;
    for (let index = 0; index < madeAt.length && left > 0; index++) {
      const period = periodOf(rule, madeAt[index], policy.timezone);
      if (period === previous) continue;
      previous = period;
      reasons[index].push(rule);
      left--;
    }
  }
  return reasons;
}

/** The catalogue key of a rule's phrase for `n` (`retention.*` in the locale files). */
export const retentionPhraseKey = (rule: string, n: number) => `retention.${rule}.${n === 1 ? 'one' : 'other'}` as MessageKey;

/** A policy in words, in `locale`: "7 newest, 1 a day for 14 days" (the run log's are English, like every log line). */
export function retentionInWords(policy: Omit<RetentionPolicy, 'timezone'>, locale: Locale): string {
  return describeRetention(policy, (rule, n) => translate(locale, retentionPhraseKey(rule, n), { n }));
}

/** Words for a policy, from a phrase per rule: "7 newest, 1 a day for 14 days". */
export function describeRetention(policy: Omit<RetentionPolicy, 'timezone'>, phrase: (key: string, n: number) => string): string {
  const parts = [phrase('last', policy.last)];
  for (const rule of CALENDAR_RULES) if (policy[rule] > 0) parts.push(phrase(rule, policy[rule]));
  return parts.join(', ');
}
