import cronstrue from 'cronstrue/i18n';
import type { HelperOptions } from 'handlebars';
import { formatByteSize } from '../config/byte-size';
import { CALENDAR_RULES, retentionInWords, retentionPhraseKey } from '../backup/retention';
import { translateLogLine } from '../common/i18n';
import { backupChart, BackupPoint } from './backup-chart';
import { formatDateTime, formatDuration } from './format';
import { isMessageKey, Locale, translate, translateText } from './i18n';

const STATUS_CLASSES: Record<string, string> = {
  succeeded: 'text-bg-success',
  failed: 'text-bg-danger',
  partial: 'text-bg-warning',
  running: 'text-bg-primary',
  queued: 'text-bg-secondary',
  skipped: 'text-bg-warning',
  cancelled: 'text-bg-secondary',
};

/** Every page renders with `locale` and `timezone` at its root; helpers format for them. */
const root = (options: HelperOptions) => options.data.root as { locale: Locale; timezone: string };

type RetentionFields = { retention?: unknown; keepDaily?: unknown; keepWeekly?: unknown; keepMonthly?: unknown; keepYearly?: unknown };
const RULES = ['last', ...CALENDAR_RULES] as const;

/** The retention rules in words ("7 newest, 1 a day for 14 days"); '' while the form holds no valid retention. */
export function retentionWords(fields: RetentionFields, locale: Locale): string {
  const count = (value: unknown) => (/^\d+$/.test(String(value ?? '').trim()) ? Number(String(value).trim()) : 0);
  const last = count(fields.retention);
  if (last < 1) return '';
  const policy = { last, daily: count(fields.keepDaily), weekly: count(fields.keepWeekly), monthly: count(fields.keepMonthly), yearly: count(fields.keepYearly) };
  return retentionInWords(policy, locale);
}

/** Handlebars helpers, registered once on the hbs instance that renders the views. */
export const viewHelpers = {
  t(key: string, options: HelperOptions): string {
    return isMessageKey(key) ? translate(root(options).locale, key, options.hash) : key;
  },
  /** A text the service wrote in English and stored or returned as such (a run's error, a log line, a field's problem), in the page's language. */
  said(text: string | null | undefined, options: HelperOptions): string {
    return text ? translateText(root(options).locale, text) : '';
  },
  logLine(line: string, options: HelperOptions): string {
    return translateLogLine(root(options).locale, line);
  },
  bytes(bytes: number | null | undefined, options: HelperOptions): string {
    return typeof bytes === 'number' ? formatByteSize(bytes, root(options).locale) : '—';
  },
  datetime(value: Date | string | null | undefined, options: HelperOptions): string {
    if (!value) return '—';
    const { locale, timezone } = root(options);
    return formatDateTime(value, locale, timezone);
  },
  duration(ms: number | null | undefined, options: HelperOptions): string {
    return typeof ms === 'number' ? formatDuration(ms, root(options).locale) : '—';
  },
  cronWords(expression: string, options: HelperOptions): string {
    try {
      return cronstrue.toString(expression, { locale: root(options).locale, use24HourTimeFormat: true });
    } catch {
      return expression;
    }
  },
  keepWords(fields: RetentionFields, options: HelperOptions): string {
    return retentionWords(fields, root(options).locale);
  },
  /** The phrases of keepWords for app.js, which words the form's rules as they are typed: {rule: {one, other}}. */
  keepPhrases(options: HelperOptions): string {
    const { locale } = root(options);
    return JSON.stringify(Object.fromEntries(RULES.map((rule) => [rule, { one: translate(locale, retentionPhraseKey(rule, 1), { n: 1 }), other: translate(locale, retentionPhraseKey(rule, 2), { n: '{n}' }) }])));
  },
  statusClass: (status: string) => STATUS_CLASSES[status] ?? 'text-bg-light',
  short: (text: string | null | undefined) => (text ? text.slice(0, 12) : '—'),
  eq: (a: unknown, b: unknown) => a === b,
  or: (a: unknown, b: unknown) => a || b,
  /** (concat 'status.' status): builds a message key; the last argument is Handlebars' options. */
  concat: (...parts: unknown[]) => parts.slice(0, -1).join(''),
  json: (value: unknown) => JSON.stringify(value),
  /** The chart's data as JSON for a data attribute (the CSP runs no inline script); public/app.js draws it. */
  chartJson(points: BackupPoint[], options: HelperOptions): string {
    const { locale, timezone } = root(options);
    return JSON.stringify(backupChart(points, locale, timezone));
  },
  join: (values: unknown[]) => (Array.isArray(values) ? values.join(' ') : ''),
};
