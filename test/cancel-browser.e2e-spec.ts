import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { filesIn, RunBody, waitForRunEnd } from './support/backups';
import { bootOrchestrator, Orchestrator, waitFor } from './support/orchestrator';
import { launchChromium, loggedInContext, noChromium } from './support/browser';

const SHOTS = join(process.cwd(), 'test/screenshots');

/** The Cancel button of #17 point 8, clicked in a real browser on the run page and in the dashboard row. */
describe.skipIf(noChromium)('cancelling a run in a real browser', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let appId: number;
  const violations: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    contract = await startContractApp({ token: 'browser-token' });
    // About 40 s if nobody cancels it.
    contract.setMode({ size: 128 * 1024 * 1024, length: true, checksum: true, delayMs: 20 });
    orchestrator = await bootOrchestrator({ SHUTDOWN_GRACE_S: '0' });
    await orchestrator.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(orchestrator.app.getHttpServer().address() as { port: number }).port}`;
    appId = (await orchestrator.api.post('/api/apps', { name: 'ledger', url: contract.url, token: 'browser-token', schedule: '0 3 * * *', driveFolderId: 'ledger', retention: 1 }).expect(201)).body.id;
    browser = await launchChromium();
    context = await loggedInContext(browser, base, { locale: 'en-US', viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('console', (message) => /Content Security Policy/i.test(message.text()) && violations.push(message.text()));
    // The Cancel forms ask for confirmation (window.confirm): the admin says yes.
    page.on('dialog', (dialog) => void dialog.accept());
  });
  afterAll(async () => {
    await browser?.close();
    await orchestrator?.close();
    await contract?.close();
  });

  const startRun = async (): Promise<number> => {
    const { runId } = (await orchestrator.api.post(`/api/apps/${appId}/run`).expect(202)).body;
    await waitFor(async () => ((await orchestrator.api.get(`/api/runs/${runId}`)).body.bytes > 0 ? true : undefined));
    return runId;
  };
  const status = async (runId: number): Promise<RunBody> => (await orchestrator.api.get(`/api/runs/${runId}`).expect(200)).body;

  it('shows Cancel on the page of a running backup; clicking it ends the run cancelled and the button goes', async () => {
    const runId = await startRun();
    await page.goto(`${base}/runs/${runId}`);
    const button = page.getByRole('button', { name: 'Cancel' });
    expect(await button.isVisible()).toBe(true);
    expect(await page.locator('#run').getAttribute('data-status')).toBe('running');
    await page.screenshot({ path: join(SHOTS, 'cancel-1-running.png'), fullPage: true });
    // On a phone, in Spanish, the button is there and within the screen.
    const phone = await loggedInContext(browser, base, { locale: 'es-ES', viewport: { width: 390, height: 844 } });
    try {
      const small = await phone.newPage();
      await small.goto(`${base}/runs/${runId}`);
      const box = await small.getByRole('button', { name: 'Cancelar' }).boundingBox();
      expect(box!.x + box!.width).toBeLessThanOrEqual(390);
      await small.screenshot({ path: join(SHOTS, 'cancel-1-running-390-es.png'), fullPage: true });
    } finally {
      await phone.close();
    }

    await button.click();
    // The page follows the run (live polling reloads it once it ended).
    await page.waitForSelector('#run[data-status="cancelled"]', { timeout: 15_000 });
    expect(await page.locator('[data-live-status] [data-status]').textContent()).toBe('cancelled');
    expect(await page.locator('[data-live-status] .badge').getAttribute('class')).toContain('text-bg-secondary');
    expect(await page.locator('[data-run-cancelled]').textContent()).toContain('Nothing was stored and no backup was deleted.');
    expect(await page.locator('[data-live="log"]').textContent()).toMatch(/cancelled by an admin after \d+ bytes/);
    expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'cancel-2-cancelled.png'), fullPage: true });
    expect((await status(runId)).status).toBe('cancelled');
    expect(filesIn(join(orchestrator.config.rclone.remote, 'ledger'))).toEqual([]);
  });

  it('shows Cancel in the dashboard row and in Spanish while a run goes on, and stays on the dashboard', async () => {
    const runId = await startRun();
    await page.goto(`${base}/?lang=es`);
    const row = page.locator('[data-app-list] tr[data-app="ledger"]');
    const button = row.getByRole('button', { name: 'Cancelar' });
    expect(await button.isVisible()).toBe(true);
    expect(await button.getAttribute('title')).toBe(`Cancelar la ejecución #${runId}`);
    await page.screenshot({ path: join(SHOTS, 'cancel-3-dashboard-es.png'), fullPage: true });

    await button.click();
    await page.waitForURL(`${base}/`);
    expect(await page.getByRole('status').textContent()).toContain(`Cancelando la ejecución #${runId} de "ledger".`);
    expect((await waitForRunEnd(orchestrator, runId)).status).toBe('cancelled');
    await page.reload();
    expect(await row.getByRole('button', { name: 'Cancelar' }).count()).toBe(0);
    expect(await row.locator('[data-last-backup] [data-status]').textContent()).toBe('cancelada');
    await page.goto(`${base}/?lang=en`);
    expect(violations).toEqual([]);
  });
});
