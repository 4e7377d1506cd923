import { mkdirSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { launchChromium, logInPage, noChromium } from './support/browser';
import { appInput, bootOrchestrator, Orchestrator } from './support/orchestrator';

const SHOTS = join(process.cwd(), 'test/screenshots');

const launch = () =>
  launchChromium();

/** Collects what the browser says when the Content-Security-Policy blocks something. */
function cspViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}

describe.skipIf(noChromium)('the admin in a real browser', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let browser: Browser;
  let page: Page;
  let base: string;
  let violations: string[];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    contract = await startContractApp({ token: 'browser-token' });
    contract.setMode({ size: 3 * 1024 * 1024, length: true, checksum: true, delayMs: 80 }); // ~4 s: several polls (1 s apart) see it grow
    orchestrator = await bootOrchestrator();
    await orchestrator.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(orchestrator.app.getHttpServer().address() as { port: number }).port}`;
    browser = await launch();
    const context = await browser.newContext({ locale: 'en-US' });
    page = await logInPage(context, base);
    violations = cspViolations(page);
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
    await page.getByLabel('Token', { exact: true }).fill('browser-token');
    await page.getByLabel('Schedule').fill('0 25 * * *');
    await page.getByLabel('Destination folder').fill('billing');
    await page.getByRole('button', { name: 'Save' }).click();
    const error = page.locator('[data-error-for="schedule"]');
    expect(await error.textContent()).toContain('is not a valid cron expression');
    expect(await page.getByLabel('Name').inputValue()).toBe('billing');
    expect(await page.getByLabel('Token', { exact: true }).inputValue()).toBe('');
    await shot('2-inline-error');

    await page.getByLabel('Token', { exact: true }).fill('browser-token');
    await page.getByLabel('Schedule').fill('0 3 * * *');
    await page.getByRole('button', { name: 'Save' }).click();
    expect(await page.getByRole('status').textContent()).toContain('App "billing" added.');
    await shot('3-app-created');

    await page.getByRole('button', { name: 'Test now' }).click();
    await page.waitForURL(/\/runs\/\d+$/);
    const liveBytes = page.locator('[data-live="bytes"]');
    const seen = new Set<string>();
    for (let i = 0; i < 80 && (await page.locator('#run').getAttribute('data-status')) !== 'succeeded'; i++) {
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
    expect(violations).toEqual([]);
  });

  it('follows the system colour scheme, and previews a schedule as it is typed or picked (#17)', async () => {
    const dark = await browser.newContext({ locale: 'en-US', colorScheme: 'dark' });
    try {
      const form = await logInPage(dark, base);
      const blocked = cspViolations(form);
      await form.goto(`${base}/apps/new`);
      expect(await form.locator('html').getAttribute('data-bs-theme')).toBe('dark');
      await form.emulateMedia({ colorScheme: 'light' });
      await form.waitForFunction(() => document.documentElement.dataset.bsTheme === 'light');

      const preview = form.locator('[data-schedule-preview]');
      await form.getByLabel('Schedule').fill('0 3 * * 1');
      await form.getByLabel('Time zone').fill('UTC');
      await preview.locator('li').nth(2).waitFor();
      expect(await preview.textContent()).toContain('At 03:00, only on Monday');
      expect(await preview.locator('li').allTextContents()).toEqual([expect.stringMatching(/^Monday, .* at 3:00\s?AM \(UTC\)$/), expect.any(String), expect.any(String)]);
      await form.getByRole('button', { name: 'Hourly' }).click();
      expect(await form.getByLabel('Schedule').inputValue()).toBe('0 * * * *');
      await form.waitForFunction(() => document.querySelector('[data-schedule-preview]')?.textContent?.includes('Every hour'));
      await form.getByLabel('Schedule').fill('0 25 * * *');
      await form.waitForFunction(() => document.querySelector('[data-schedule-preview] .text-danger')?.textContent?.includes('is not a valid cron expression'));
      await form.screenshot({ path: join(SHOTS, '7-schedule-preview.png'), fullPage: true });
      expect((await form.request.get(`${base}/favicon.ico`)).headers()['content-type']).toMatch(/icon/);
      expect(blocked).toEqual([]);
    } finally {
      await dark.close();
    }
  });

  it('shows Swagger UI under the Content-Security-Policy', async () => {
    await page.goto(`${base}/api/docs`);
    await page.locator('.swagger-ui .info .title').waitFor();
    expect(await page.locator('.swagger-ui .info .title').textContent()).toContain('app-orquestador');
    await page.locator('.opblock-summary-path', { hasText: '/api/health' }).first().waitFor();
    expect(violations).toEqual([]);
  });
});

describe.skipIf(noChromium)('a page on another site, in the admin\'s browser', () => {
  let orchestrator: Orchestrator;
  let attacker: Server;
  let browser: Browser;
  let base: string;
  let appId: number;
  let attackerPort: number;

  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
    await orchestrator.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(orchestrator.app.getHttpServer().address() as AddressInfo).port}`;
    appId = (await orchestrator.api.post('/api/apps', appInput({ name: 'victim' })).expect(201)).body.id;
    // The hostile page: a form that posts itself on load, after planting a csrf cookie for its target.
    attacker = createServer((request, response) => {
      const target = new URL(request.url!, 'http://attacker').searchParams.get('target')!;
      response.setHeader('Content-Type', 'text/html');
      response.end(`<form method="post" action="${base}${target}"><input type="hidden" name="_csrf" value="planted"></form>
        <script>document.cookie = 'csrf=planted; path=${target}'; document.forms[0].submit();</script>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerPort = (attacker.address() as AddressInfo).port;
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await orchestrator?.close();
    await new Promise((resolve) => attacker?.close(resolve));
  });

  it.each([
    ['another host name', 'localhost', `/api/apps/{id}/run`],
    ['another host name', 'localhost', `/api/apps/{id}/check`],
    ['another port of the same host', '127.0.0.1', `/apps/{id}/run`],
    ['another port of the same host', '127.0.0.1', `/apps/{id}/delete`],
  ])('from %s (%s) cannot post to %s, though the browser is logged in', async (_, host, path) => {
    const context = await browser.newContext();
    try {
      const page = await logInPage(context, base); // the admin is logged in: the browser holds the session cookie
      const target = path.replace('{id}', String(appId));
      await page.goto(`http://${host}:${attackerPort}/?target=${encodeURIComponent(target)}`);
      await page.waitForURL((url) => url.origin === base);
      expect(await page.locator('body').textContent()).toContain('sent by a page from another site');
    } finally {
      await context.close();
    }
    expect((await orchestrator.api.get(`/api/apps/${appId}/runs`).expect(200)).body).toEqual([]);
    expect((await orchestrator.api.get(`/api/apps/${appId}`).expect(200)).body.name).toBe('victim');
  });
});
