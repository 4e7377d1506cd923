import { CronTime } from 'cron';
import cronstrue from 'cronstrue/i18n';
import { translateText } from '../common/i18n';
import { cronProblem } from './app.validators';

const FIRINGS = 3;

/**
 * What a schedule means before it is saved: refused for the same reasons as when an app is saved (cronProblem),
 * else its next firings in the zone, and the expression in words.
 */
export function previewSchedule(expression: string, timezone: string, locale: string, now = new Date()) {
  const error = cronProblem(expression, timezone);
  if (error !== null) return { valid: false, error: translateText(locale, error), next: [], description: '', timezone };
  const time = new CronTime(expression, timezone);
  const next: string[] = [];
  for (let from = now; next.length < FIRINGS; ) {
    from = time.getNextDateFrom(from, timezone).toJSDate(); // without the zone, cron reads the fields in UTC
    next.push(from.toISOString());
  }
  return { valid: true, next, description: describe(expression, locale), timezone };
}

function describe(expression: string, locale: string): string {
  try {
    return cronstrue.toString(expression, { locale, use24HourTimeFormat: true });
  } catch {
    return ''; // cronstrue reads fewer forms than the scheduler: the firings still say what it means
  }
}
