import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { ADMIN, bootOrchestrator, Orchestrator } from './support/orchestrator';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'test/screenshots');

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('the admin in a real browser', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let browser: Browser;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    contract = await startContractApp({ token: 'browser-token' });
    contract.setMode({ size: 3 * 1024 * 1024, length: true, checksum: true, delayMs: 25 }); // ~1.2 s: long enough to watch
    orchestrator = await bootOrchestrator();
    await orchestrator.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(orchestrator.app.getHttpServer().address() as { port: number }).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
    const context = await browser.newContext({ httpCredentials: { username: ADMIN.user, password: ADMIN.password }, locale: 'en-US' });
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await orchestrator?.close();
    await contract?.close();
  });

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  it('walks from an empty dashboard to a verified backup, then switches to Spanish', async () => {
    await page.goto(`${base}/`);
    expect(await page.locator('[data-empty]').isVisible()).toBe(true);
    await shot('1-empty-dashboard');

    await page.getByRole('link', { name: 'Add the first app' }).click();
    await page.getByLabel('Name').fill('billing');
    await page.getByLabel('URL', { exact: true }).fill(contract.url);
    await page.getByLabel('Token').fill('browser-token');
    await page.getByLabel('Schedule').fill('0 25 * * *');
    await page.getByLabel('Destination folder').fill('billing');
    await page.getByRole('button', { name: 'Save' }).click();
    const error = page.locator('[data-error-for="schedule"]');
    expect(await error.textContent()).toContain('is not a valid cron expression');
    expect(await page.getByLabel('Name').inputValue()).toBe('billing');
    expect(await page.getByLabel('Token').inputValue()).toBe('');
    await shot('2-inline-error');

    await page.getByLabel('Token').fill('browser-token');
    await page.getByLabel('Schedule').fill('0 3 * * *');
    await page.getByRole('button', { name: 'Save' }).click();
    expect(await page.getByRole('status').textContent()).toContain('App "billing" added.');
    await shot('3-app-created');

    await page.getByRole('button', { name: 'Test now' }).click();
    await page.waitForURL(/\/runs\/\d+$/);
    const liveBytes = page.locator('[data-live="bytes"]');
    const seen = new Set<string>();
    for (let i = 0; i < 40 && (await page.locator('#run').getAttribute('data-status')) !== 'succeeded'; i++) {
      seen.add((await liveBytes.textContent().catch(() => '')) ?? '');
      if (seen.size === 2) await shot('4-run-live');
      await page.waitForTimeout(150);
    }
    await page.waitForSelector('#run[data-status="succeeded"]', { timeout: 15_000 });
    expect(seen.size).toBeGreaterThan(1); // the size changed on screen while the run went on
    expect(await liveBytes.textContent()).toBe('3 MiB');
    expect(await page.locator('[data-live="log"]').textContent()).toMatch(/stored 3145728 bytes/);
    await shot('5-run-succeeded');

    await page.getByRole('link', { name: 'Dashboard' }).click();
    expect(await page.locator('tr[data-app="billing"] [data-status]').textContent()).toBe('succeeded');
    await page.getByRole('link', { name: 'Español' }).click();
    expect(await page.getByRole('button', { name: 'Probar ahora' }).isVisible()).toBe(true);
    expect(await page.locator('tr[data-app="billing"] [data-status]').textContent()).toBe('correcta');
    await shot('6-dashboard-spanish');
  });
});
