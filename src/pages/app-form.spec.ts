import { describe, expect, it } from 'vitest';
import { parseAppForm } from './app-form';
import { retentionWords } from './view-helpers';

const FORM = { name: 'billing', url: 'http://billing:8000', token: 't', schedule: '0 3 * * *', driveFolderId: 'billing', retention: '7' };

describe('the app form', () => {
  it('reads blank calendar rules as off, blank verification as VERIFY_SCHEDULE, "off" as never', async () => {
    const blank = await parseAppForm({ ...FORM, keepDaily: '', verifySchedule: '' }, false);
    expect(blank.ok && blank.input).toMatchObject({ keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0, verifySchedule: 'default' });
    const set = await parseAppForm({ ...FORM, keepDaily: '14', keepMonthly: ' 12 ', verifySchedule: 'OFF' }, true);
    expect(set.ok && set.input).toMatchObject({ keepDaily: 14, keepMonthly: 12, verifySchedule: null });
    const own = await parseAppForm({ ...FORM, verifySchedule: '0 4 * * 0' }, true);
    expect(own.ok && own.input).toMatchObject({ verifySchedule: '0 4 * * 0' });
  });

  it('refuses bad rules beside their fields, keeping what was typed', async () => {
    const form = await parseAppForm({ ...FORM, keepWeekly: '-2', keepYearly: 'many', verifySchedule: '0 0 30 2 *' }, true);
    expect(form.ok).toBe(false);
    if (form.ok) return;
    expect(Object.keys(form.errors).sort()).toEqual(['keepWeekly', 'keepYearly', 'verifySchedule']);
    expect(form.values).toMatchObject({ keepWeekly: '-2', keepYearly: 'many', verifySchedule: '0 0 30 2 *' });
  });

  it('says in words what the rules keep, in English and Spanish', () => {
    const rules = { retention: 7, keepDaily: 14, keepWeekly: 0, keepMonthly: 12, keepYearly: 1 };
    expect(retentionWords(rules, 'en')).toBe('7 newest, 1 a day for 14 days, 1 a month for 12 months, 1 a year for 1 year');
    expect(retentionWords(rules, 'es')).toBe('las 7 más recientes, 1 al día durante 14 días, 1 al mes durante 12 meses, 1 al año durante 1 año');
    expect(retentionWords({ retention: '1', keepWeekly: '1' }, 'en')).toBe('the newest, 1 a week for 1 week');
    expect(retentionWords({ retention: '' }, 'en')).toBe('');
  });
});
