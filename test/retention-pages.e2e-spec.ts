import { join } from 'node:path';
import { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { runBackup, seed } from './support/backups';
import { bootOrchestrator, Orchestrator } from './support/orchestrator';
import { launchChromium, loggedInContext, noChromium } from './support/browser';


/** The form words the calendar rules as they are typed; the app page shows what keeps each file, in English and Spanish. */
describe.skipIf(noChromium)('calendar retention in the admin pages (real browser)', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    contract = await startContractApp();
    contract.setMode({ size: 1000 });
    orchestrator = await bootOrchestrator({ VERIFY_SCHEDULE: '0 4 * * 0' });
    await orchestrator.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(orchestrator.app.getHttpServer().address() as { port: number }).port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await orchestrator?.close();
    await contract?.close();
  });

  const pageIn = async (locale: string) => {
    const context = await loggedInContext(browser, base, { locale });
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (message) => /Content Security Policy/i.test(message.text()) && violations.push(message.text()));
    return { page, violations };
  };

  it('words the rules as they are typed, saves them, and shows each backup with what keeps it', async () => {
    const { page, violations } = await pageIn('en-US');
    await page.goto(`${base}/apps/new`);
    const words = page.locator('[data-retention-words]');
    expect(await words.textContent()).toBe('Kept: 7 newest.');
    await page.fill('#field-keepDaily', '14');
    await page.fill('#field-keepMonthly', '12');
    await expect.poll(() => words.textContent()).toBe('Kept: 7 newest, 1 a day for 14 days, 1 a month for 12 months.');
    await page.fill('#field-retention', '1');
    await expect.poll(() => words.textContent()).toBe('Kept: the newest, 1 a day for 14 days, 1 a month for 12 months.');
    expect(await page.locator('#help-verifySchedule').textContent()).toContain('VERIFY_SCHEDULE (0 4 * * 0)');

    await page.fill('#field-name', 'ledger');
    await page.fill('#field-url', contract.url);
    await page.fill('#field-token', 'test-token');
    await page.fill('#field-schedule', '0 3 * * *');
    await page.fill('#field-driveFolderId', 'ledger');
    await page.fill('#field-verifySchedule', 'off');
    await Promise.all([page.waitForURL(/\/apps\/\d+$/), page.click('form[action="/apps"] button[type=submit]')]);
    const id = Number(/\/apps\/(\d+)$/.exec(page.url())![1]);
    expect((await orchestrator.api.get(`/api/apps/${id}`).expect(200)).body).toMatchObject({ retention: 1, keepDaily: 14, keepWeekly: 0, keepMonthly: 12, keepYearly: 0, verifySchedule: null });

    expect((await runBackup(orchestrator, id)).status).toBe('succeeded');
    // Older backups planted after the run: what the next run keeps of them.
    seed(join(orchestrator.config.rclone.remote, 'ledger'), ['ledger-20250102T120000Z.db', 'ledger-20250102T080000Z.db']);
    await page.goto(`${base}/apps/${id}`);
    expect(await page.locator('dd[data-retention-words]').textContent()).toBe('the newest, 1 a day for 14 days, 1 a month for 12 months (UTC)');
    expect(await page.locator('[data-verify-schedule]').getAttribute('data-verify-schedule')).toBe('never');
    const keptBy = (name: string) => page.locator(`tr[data-backup="${name}"] [data-kept-by]`).getAttribute('data-kept-by');
    expect(await keptBy('ledger-20250102T120000Z.db')).toBe('daily monthly');
    expect(await keptBy('ledger-20250102T080000Z.db')).toBe('');
    expect(await page.locator('tr[data-backup="ledger-20250102T080000Z.db"] [data-keep="none"]').textContent()).toBe('deleted by the next backup');

    const spanish = await pageIn('es-ES');
    await spanish.page.goto(`${base}/apps/${id}/edit`);
    expect(await spanish.page.locator('[data-retention-words]').textContent()).toBe('Se conservan: la más reciente, 1 al día durante 14 días, 1 al mes durante 12 meses.');
    expect(await spanish.page.inputValue('#field-verifySchedule')).toBe('off');
    await spanish.page.goto(`${base}/apps/${id}`);
    expect(await spanish.page.locator('tr[data-backup="ledger-20250102T120000Z.db"] [data-keep="daily"]').textContent()).toBe('diaria');
    expect([...violations, ...spanish.violations]).toEqual([]);
  });
});
