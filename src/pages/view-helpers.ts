import cronstrue from 'cronstrue/i18n';
import type { HelperOptions } from 'handlebars';
import { formatByteSize } from '../config/byte-size';
import { isMessageKey, Locale, translate } from './i18n';

const STATUS_CLASSES: Record<string, string> = {
  succeeded: 'text-bg-success',
  failed: 'text-bg-danger',
  running: 'text-bg-primary',
  queued: 'text-bg-secondary',
  skipped: 'text-bg-warning',
};

/** Every page renders with `locale` and `timezone` at its root; helpers format for them. */
const root = (options: HelperOptions) => options.data.root as { locale: Locale; timezone: string };

/**
 * Building an Intl formatter costs ~0.1 ms, about a hundred times formatting with it: a dashboard of 70 rows built
 * hundreds, which was half its rendering time. One per locale and zone (a bounded set) is kept.
 */
const formatters = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat>();
function formatterOf<T extends Intl.DateTimeFormat | Intl.NumberFormat>(key: string, make: () => T): T {
  let formatter = formatters.get(key);
  if (!formatter) formatters.set(key, (formatter = make()));
  return formatter as T;
}

export function formatDuration(ms: number, locale: Locale): string {
  const number = formatterOf(`duration ${locale}`, () => new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }));
  if (ms < 1000) return `${number.format(ms)} ms`;
  if (ms < 60_000) return `${number.format(ms / 1000)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Handlebars helpers, registered once on the hbs instance that renders the views. */
export const viewHelpers = {
  t(key: string, options: HelperOptions): string {
    return isMessageKey(key) ? translate(root(options).locale, key, options.hash) : key;
  },
  bytes(bytes: number | null | undefined, options: HelperOptions): string {
    return typeof bytes === 'number' ? formatByteSize(bytes, root(options).locale) : '—';
  },
  datetime(value: Date | string | null | undefined, options: HelperOptions): string {
    if (!value) return '—';
    const { locale, timezone } = root(options);
    const format = { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' } as const;
    return formatterOf(`datetime ${locale} ${timezone}`, () => new Intl.DateTimeFormat(locale, { ...format, timeZone: timezone, timeZoneName: 'short' })).format(new Date(value));
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
  statusClass: (status: string) => STATUS_CLASSES[status] ?? 'text-bg-light',
  short: (text: string | null | undefined) => (text ? text.slice(0, 12) : '—'),
  eq: (a: unknown, b: unknown) => a === b,
  or: (a: unknown, b: unknown) => a || b,
  /** (concat 'status.' status): builds a message key; the last argument is Handlebars' options. */
  concat: (...parts: unknown[]) => parts.slice(0, -1).join(''),
  json: (value: unknown) => JSON.stringify(value),
};
