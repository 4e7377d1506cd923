import type { Locale } from './i18n';

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

/** Every date on the pages: in the reader's language, in SCHEDULER_TIMEZONE, with the zone named. */
export function formatDateTime(value: Date | string, locale: Locale, timezone: string): string {
  const format = { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' } as const;
  return formatterOf(`datetime ${locale} ${timezone}`, () => new Intl.DateTimeFormat(locale, { ...format, timeZone: timezone, timeZoneName: 'short' })).format(new Date(value));
}
