import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { ADMIN } from './orchestrator';

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
