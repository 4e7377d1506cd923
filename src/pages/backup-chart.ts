import { formatByteSize } from '../config/byte-size';
import { Locale, translate } from './i18n';
import { formatDateTime, formatDuration } from './format';

/** One successful backup, as the app page's chart plots it. */
export interface BackupPoint {
  id: number;
  startedAt: Date;
  bytes: number;
  durationMs: number;
}

const SIZE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
const DURATION_UNITS = [
  { unit: 'ms', ms: 1, upTo: 1000 },
  { unit: 's', ms: 1000, upTo: 120_000 },
  { unit: 'min', ms: 60_000, upTo: Infinity },
];
const round = (value: number) => Math.round(value * 100) / 100;

/**
 * What public/app.js hands to Chart.js, every text already in the page's language and time zone: one axis unit
 * per series, picked from its largest value (so the ticks read "1.5", "2" under "Size (MiB)" rather than raw
 * bytes), and the exact size and duration of each backup for its tooltip.
 *
 * The x axis is a category axis of formatted start times rather than Chart.js's time scale: that one needs a date
 * adapter (two more packages) and would format in the browser's zone, while every other date on the page is in
 * SCHEDULER_TIMEZONE. Backups are one bar each at regular intervals, and the tooltip names the exact time.
 */
export function backupChart(points: BackupPoint[], locale: Locale, timezone: string) {
  const maxBytes = Math.max(1, ...points.map((point) => point.bytes));
  const power = Math.min(SIZE_UNITS.length - 1, Math.floor(Math.log(maxBytes) / Math.log(1024)));
  const maxMs = Math.max(0, ...points.map((point) => point.durationMs));
  const duration = DURATION_UNITS.find((unit) => maxMs < unit.upTo)!;
  const shortDate = new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: timezone });
  return {
    locale,
    runs: points.map((point) => point.id),
    labels: points.map((point) => shortDate.format(point.startedAt)),
    times: points.map((point) => formatDateTime(point.startedAt, locale, timezone)),
    x: { title: translate(locale, 'chart.started') },
    size: {
      title: translate(locale, 'chart.size', { unit: SIZE_UNITS[power] }),
      values: points.map((point) => round(point.bytes / 1024 ** power)),
      labels: points.map((point) => `${translate(locale, 'run.size')}: ${formatByteSize(point.bytes, locale)}`),
    },
    duration: {
      title: translate(locale, 'chart.duration', { unit: duration.unit }),
      values: points.map((point) => round(point.durationMs / duration.ms)),
      labels: points.map((point) => `${translate(locale, 'run.duration')}: ${formatDuration(point.durationMs, locale)}`),
    },
  };
}
