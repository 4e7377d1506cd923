import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { ADMIN } from './orchestrator';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Browser tests are skipped on a developer's machine without Chromium, never in CI (where they must run). */
export const noChromium = !existsSync(CHROMIUM) && !process.env.CI;

/** Debian's Chromium, headless, without the background traffic this machine's closed network refuses. */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });

/** Logs a real browser in through the login page, as a person would; returns the page, now on `next`. */
export async function logInPage(context: BrowserContext, base: string, credentials = ADMIN, next = '/'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel(/User name|Usuario/).fill(credentials.user);
  await page.getByLabel(/Password|Contraseña/).fill(credentials.password);
  await page.getByRole('button', { name: /Log in|Entrar/ }).click();
  await page.waitForURL((url) => url.pathname === next.split('?')[0]);
  return page;
}

/** A browser context logged in through the login page: its session cookie serves every page opened in it. */
export async function loggedInContext(browser: Browser, base: string, options: BrowserContextOptions = {}, credentials = ADMIN): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  await (await logInPage(context, base, credentials)).close();
  return context;
}
