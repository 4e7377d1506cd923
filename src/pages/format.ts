import type { Locale } from './i18n';

export function formatDuration(ms: number, locale: Locale): string {
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  if (ms < 1000) return `${number.format(ms)} ms`;
  if (ms < 60_000) return `${number.format(ms / 1000)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Every date on the pages: in the reader's language, in SCHEDULER_TIMEZONE, with the zone named. */
export function formatDateTime(value: Date | string, locale: Locale, timezone: string): string {
  const format = { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' } as const;
  return new Intl.DateTimeFormat(locale, { ...format, timeZone: timezone, timeZoneName: 'short' }).format(new Date(value));
}
