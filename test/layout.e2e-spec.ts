import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDateTime } from '../src/pages/format';
import { startContractApp } from './support/contract-app.mjs';
import { RunBody, waitForRunEnd } from './support/backups';
import { bootOrchestrator, Orchestrator } from './support/orchestrator';
import { launchChromium, loggedInContext, noChromium } from './support/browser';

const SHOTS = join(process.cwd(), 'test/screenshots');
const TOKEN = 'layout-token';
/** Longer than the dashboard's URL column: it must be cut short, never broken over lines. */
const LONG_URL = 'http://127.0.0.1:9/a/rather/long/path/prefix/of/a/reverse-proxied/app';
const VIEWPORTS = { 1280: { width: 1280, height: 800 }, 390: { width: 390, height: 844 }, 360: { width: 360, height: 740 } } as const;
type Width = keyof typeof VIEWPORTS;

const TEXT = {
  en: { replaces: 'The current data of notes will be replaced by the backup ', submit: 'Replace data of notes', cancel: 'Cancel', restore: 'Restore', size: /^Size \((B|KiB|MiB)\)$/, duration: /^Duration \((ms|s|min)\)$/, started: 'Backup started' },
  es: { replaces: 'Los datos actuales de notes se reemplazarán por la copia ', submit: 'Reemplazar los datos de notes', cancel: 'Cancelar', restore: 'Restaurar', size: /^Tamaño \((B|KiB|MiB)\)$/, duration: /^Duración \((ms|s|min)\)$/, started: 'Inicio de la copia' },
} as const;
type Lang = keyof typeof TEXT;

/** What the Content-Security-Policy blocked on a page, as the browser reports it. */
function cspViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}

/** Layout facts measured in the page: overflow, lines taken by URLs, cron expressions and action groups. */
const measure = (page: Page) =>
  page.evaluate(() => {
    // The lines a text is laid out on: one rectangle per line box it takes.
    const linesOf = (el: Element) => {
      const range = document.createRange();
      range.selectNodeContents(el);
      return new Set([...range.getClientRects()].filter((rect) => rect.width > 0).map((rect) => Math.round(rect.top))).size;
    };
    return {
      pageOverflow: document.scrollingElement!.scrollWidth - window.innerWidth,
      cronLines: [...document.querySelectorAll('[data-cron-expression]')].map(linesOf),
      urlLines: [...document.querySelectorAll('[data-url]')].map(linesOf),
      urlsCut: [...document.querySelectorAll('[data-url]')].filter((el) => el.scrollWidth > el.clientWidth).map((el) => el.getAttribute('title')),
      dateLines: [...document.querySelectorAll('[data-datetime]')].map(linesOf),
      // Lines taken by each group of row actions; on a phone the apps table's cards may wrap theirs.
      actionRows: [...document.querySelectorAll('[data-actions]')]
        .filter((group) => window.innerWidth >= 768 || !group.closest('.table-stack'))
        .map((group) => new Set([...group.children].map((child) => Math.round(child.getBoundingClientRect().top))).size),
      actionGroups: document.querySelectorAll('[data-actions]').length,
      actionsOnScreen: [...document.querySelectorAll('[data-actions]')].every((group) => group.getBoundingClientRect().right <= window.innerWidth),
      // A table wider than the screen scrolls in its own box: scrolled to the end, its last column is on screen.
      tables: [...document.querySelectorAll('table')].map((table) => {
        const box = table.closest('.table-responsive');
        if (box) box.scrollLeft = box.scrollWidth;
        const lastCell = table.querySelector('tbody tr')!.lastElementChild!.getBoundingClientRect();
        const result = { scrolls: box ? box.scrollWidth > box.clientWidth : false, responsive: box !== null, lastColumnRight: Math.round(lastCell.right) };
        if (box) box.scrollLeft = 0;
        return result;
      }),
    };
  });

describe.skipIf(noChromium)('every page at 1280 and 390 px, in English and Spanish (#17: 4, 5, 6, 13)', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let browser: Browser;
  let base: string;
  let notes: { id: number };
  let backups: RunBody[];
  let failed: RunBody;
  let pages: Record<string, string>;

  const startRun = async (appId: number) => waitForRunEnd(orchestrator, (await orchestrator.api.post(`/api/apps/${appId}/run`).expect(202)).body.runId);

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    contract = await startContractApp({ token: TOKEN });
    contract.setMode({ size: 300 * 1024 });
    orchestrator = await bootOrchestrator();
    await orchestrator.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(orchestrator.app.getHttpServer().address() as { port: number }).port}`;
    notes = (await orchestrator.api.post('/api/apps', { name: 'notes', url: contract.url, token: TOKEN, schedule: '0 3 * * *', driveFolderId: 'notes', retention: 5 }).expect(201)).body;
    backups = [await startRun(notes.id)];
    contract.setMode({ size: 700 * 1024 });
    backups.push(await startRun(notes.id));
    // A verification is a run of the app but no backup: the chart leaves it out.
    expect((await waitForRunEnd(orchestrator, (await orchestrator.api.post(`/api/apps/${notes.id}/verify`, {}).expect(202)).body.runId)).status).toBe('succeeded');
    const broken = (await orchestrator.api.post('/api/apps', { name: 'broken', url: LONG_URL, token: 'x', schedule: '0 30 3 * * 1-5', driveFolderId: 'b', retention: 1 }).expect(201)).body;
    failed = await startRun(broken.id);
    expect([...backups.map((run) => run.status), failed.status]).toEqual(['succeeded', 'succeeded', 'failed']);
    pages = {
      dashboard: '/',
      app: `/apps/${notes.id}`,
      new: '/apps/new',
      edit: `/apps/${broken.id}/edit`,
      'run-succeeded': `/runs/${backups[1].id}`,
      'run-failed': `/runs/${failed.id}`,
      runs: '/runs',
    };
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await orchestrator?.close();
    await contract?.close();
  });

  const contextFor = (width: Width, lang: Lang): Promise<BrowserContext> =>
    loggedInContext(browser, base, { locale: lang === 'en' ? 'en-US' : 'es-ES', viewport: VIEWPORTS[width] });

  /** The navigation: a toggler on a phone that unfolds the links and the language switch, all on screen. */
  async function checkNavigation(page: Page, width: Width) {
    const toggler = page.locator('.navbar-toggler');
    const languages = page.locator('[data-language-switch]');
    if (width === 1280) {
      expect(await toggler.isVisible()).toBe(false);
      expect(await languages.isVisible()).toBe(true);
      return;
    }
    expect(await toggler.isVisible()).toBe(true);
    expect(await languages.isVisible()).toBe(false);
    await toggler.click();
    await page.locator('#navbar-menu.show').waitFor();
    for (const link of await languages.locator('a').all()) {
      const box = (await link.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(VIEWPORTS[width].width);
    }
    expect(await languages.isVisible()).toBe(true);
  }

  /** The app page's chart: a Chart.js instance with a dated x axis, size and duration axes with units, backups only. */
  async function checkChart(page: Page, lang: Lang, width: Width) {
    await page.waitForFunction(() => {
      const canvas = document.querySelector('canvas[data-chart]');
      return canvas !== null && (window as unknown as { Chart?: { getChart(c: Element): unknown } }).Chart?.getChart(canvas) !== undefined;
    });
    const chart = await page.evaluate(() => {
      const canvas = document.querySelector('canvas[data-chart]')!;
      const instance = (window as unknown as { Chart: { getChart(c: Element): any } }).Chart.getChart(canvas);
      const scales = instance.options.scales;
      return {
        labels: instance.data.labels as string[],
        types: instance.data.datasets.map((dataset: { type: string }) => dataset.type),
        titles: { x: scales.x.title.text, size: scales.size.title.text, duration: scales.duration.title.text },
        shown: [scales.x.title.display, scales.size.title.display, scales.duration.title.display],
        runs: JSON.parse((canvas as HTMLElement).dataset.chart!).runs as number[],
        height: canvas.getBoundingClientRect().height,
      };
    });
    expect(chart.runs).toEqual(backups.map((run) => run.id)); // the verification is no bar; oldest first
    expect(chart.labels).toHaveLength(2);
    expect(chart.types).toEqual(['bar', 'line']);
    expect(chart.titles.x).toBe(TEXT[lang].started);
    expect(chart.titles.size).toMatch(TEXT[lang].size);
    expect(chart.titles.duration).toMatch(TEXT[lang].duration);
    expect(chart.shown).toEqual([true, true, true]);
    expect(chart.height).toBeGreaterThan(100);
    if (width !== 1280) return;
    // The tooltip of the newest bar: its exact time, size and duration.
    const point = await page.evaluate(() => {
      const canvas = document.querySelector('canvas[data-chart]')!;
      const bar = (window as unknown as { Chart: { getChart(c: Element): any } }).Chart.getChart(canvas).getDatasetMeta(0).data[1];
      const box = canvas.getBoundingClientRect();
      return { x: box.left + bar.x, y: box.top + bar.y + 5 };
    });
    await page.mouse.move(point.x, point.y);
    await page.waitForFunction(() => {
      const canvas = document.querySelector('canvas[data-chart]')!;
      return (window as unknown as { Chart: { getChart(c: Element): any } }).Chart.getChart(canvas).tooltip.opacity === 1;
    });
    const tooltip = await page.evaluate(() => {
      const canvas = document.querySelector('canvas[data-chart]')!;
      const { title, body } = (window as unknown as { Chart: { getChart(c: Element): any } }).Chart.getChart(canvas).tooltip;
      return { title: title as string[], body: (body as { lines: string[] }[]).flatMap((item) => item.lines) };
    });
    expect(tooltip.title[0]).toMatch(/\d{2}:\d{2}:\d{2}/);
    expect(tooltip.body).toEqual([expect.stringMatching(lang === 'en' ? /^Size: 700 KiB$/ : /^Tamaño: 700 KiB$/), expect.stringMatching(lang === 'en' ? /^Duration: / : /^Duración: /)]);
    await page.mouse.move(0, 0);
  }

  /** The restore dialog: out of the table, naming the backup and its date, with its own button; Cancel closes it. */
  async function checkRestoreDialog(page: Page, lang: Lang, shot: (name: string, fullPage: boolean) => Promise<unknown>) {
    const row = page.locator('tr[data-backup]').first();
    const backupName = (await row.getAttribute('data-backup'))!;
    // Taken when its run started (the time in its name), in the page's language and the service's zone.
    const stamp = /-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\./.exec(backupName)!.slice(1);
    const takenOn = formatDateTime(`${stamp[0]}-${stamp[1]}-${stamp[2]}T${stamp[3]}:${stamp[4]}:${stamp[5]}Z`, lang, orchestrator.config.scheduler.timezone);
    await row.getByRole('button', { name: TEXT[lang].restore }).click();
    const dialog = page.locator('#restore-dialog');
    await dialog.locator('[data-restore-submit]').waitFor({ state: 'visible' });
    await page.locator('#restore-dialog.show').waitFor();
    expect(await dialog.evaluate((el) => el.closest('table'))).toBeNull();
    expect(await dialog.locator('[data-restore-text]').textContent()).toBe(`${TEXT[lang].replaces}${backupName}, ${lang === 'en' ? 'taken on' : 'hecha el'} ${takenOn}.`);
    const submit = dialog.locator('[data-restore-submit]');
    expect((await submit.textContent())!.trim()).toBe(TEXT[lang].submit);
    expect(await submit.isDisabled()).toBe(true);
    const box = (await dialog.locator('.modal-content').boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(page.viewportSize()!.width);
    await shot('app-restore', false);
    await dialog.locator('.modal-footer').getByRole('button', { name: TEXT[lang].cancel }).click();
    await dialog.waitFor({ state: 'hidden' });
  }

  for (const width of [1280, 390] as const) {
    for (const lang of ['en', 'es'] as const) {
      it(`${width} px, ${lang}: no page overflows, nothing is cut off or broken`, { timeout: 90_000 }, async () => {
        const context = await contextFor(width, lang);
        try {
          const page = await context.newPage();
          const blocked = cspViolations(page);
          for (const [name, path] of Object.entries(pages)) {
            // The dialog is shot as seen (its backdrop covers the viewport only), the pages whole.
            const shot = (suffix: string, fullPage = true) => page.screenshot({ path: join(SHOTS, `${suffix}-${width}-${lang}.png`), fullPage });
            await page.goto(`${base}${path}`);
            expect(await page.locator('html').getAttribute('lang')).toBe(lang);
            if (name === 'app') await checkChart(page, lang, width);
            await shot(name); // before the checks: a failing layout is there to look at
            const facts = await measure(page);
            expect({ page: name, overflow: facts.pageOverflow }).toEqual({ page: name, overflow: 0 });
            expect(facts.cronLines.every((lines) => lines === 1)).toBe(true);
            expect(facts.urlLines.every((lines) => lines === 1)).toBe(true);
            expect(facts.dateLines.every((lines) => lines === 1)).toBe(true);
            expect(facts.actionRows.every((rows) => rows === 1)).toBe(true);
            for (const table of facts.tables) expect(table.lastColumnRight).toBeLessThanOrEqual(VIEWPORTS[width].width);
            if (width === 390) expect(facts.tables.every((table) => table.responsive)).toBe(true);
            if (name === 'dashboard') {
              expect(facts.cronLines.length).toBeGreaterThanOrEqual(3); // broken twice (needs attention and the list), notes once
              expect(facts.urlsCut).toContain(LONG_URL);
              expect(facts.actionGroups).toBe(3);
              expect(facts.actionRows.length).toBe(width === 1280 ? 3 : 0);
              // The apps tables fit the page (on a phone as one card per app): no scrolling sideways to reach Delete.
              expect(facts.tables.map((table) => table.scrolls)).toEqual([false, false]);
              expect(facts.actionsOnScreen).toBe(true);
            }
            if (name === 'app') expect(facts.actionRows.length).toBe(2); // one per backup, on one line at both widths
            if (name === 'app') await checkRestoreDialog(page, lang, shot);
            await checkNavigation(page, width);
            if (name === 'dashboard' && width === 390) await shot('nav-open', false);
          }
          expect(blocked).toEqual([]);
        } finally {
          await context.close();
        }
      });
    }
  }

  it('at 360 px, the narrowest phone, in Spanish (the longer words): no page overflows, no app card is cut off', async () => {
    const context = await contextFor(360, 'es');
    try {
      const page = await context.newPage();
      for (const [name, path] of Object.entries(pages)) {
        await page.goto(`${base}${path}`);
        const facts = await measure(page);
        expect({ page: name, overflow: facts.pageOverflow, actionsOnScreen: name === 'dashboard' ? facts.actionsOnScreen : true }).toEqual({ page: name, overflow: 0, actionsOnScreen: true });
      }
    } finally {
      await context.close();
    }
  });

  it('restores through the dialog only once the name is typed; the dashboard\'s grouped buttons post their forms', async () => {
    const context = await contextFor(1280, 'en');
    try {
      const page = await context.newPage();
      const blocked = cspViolations(page);
      await page.goto(`${base}/`);
      await page.locator('[data-app-list] tr[data-app="notes"]').getByRole('button', { name: 'Check connection' }).click();
      expect(await page.getByRole('status').textContent()).toContain('notes: connected.');
      page.once('dialog', (dialog) => void dialog.dismiss());
      await page.locator('[data-app-list] tr[data-app="notes"]').getByRole('button', { name: 'Delete' }).click();
      expect(await page.locator('[data-app-list] tr[data-app="notes"]').count()).toBe(1);

      await page.goto(`${base}/apps/${notes.id}`);
      const row = page.locator(`tr[data-backup="${backups[0].backupName}"]`);
      await row.getByRole('button', { name: 'Restore' }).click();
      const dialog = page.locator('#restore-dialog');
      await page.locator('#restore-dialog.show').waitFor();
      expect(await dialog.locator('[data-restore-text]').textContent()).toContain(backups[0].backupName);
      const submit = dialog.getByRole('button', { name: 'Replace data of notes' });
      await dialog.getByLabel('Type notes to confirm').fill('note');
      expect(await submit.isDisabled()).toBe(true);
      await dialog.getByLabel('Type notes to confirm').press('Enter'); // no implicit submission while the button is disabled
      expect(page.url()).toBe(`${base}/apps/${notes.id}`);
      await dialog.getByLabel('Type notes to confirm').fill('notes');
      await submit.click();
      await page.waitForURL(/\/runs\/\d+$/);
      await page.waitForSelector('#run[data-status="succeeded"]', { timeout: 15_000 });
      expect(contract.imports).toHaveLength(1);
      expect(contract.imports[0]).toMatchObject({ bytes: 300 * 1024, complete: true }); // the older backup, the one whose row was used

      // A restore is no backup: the chart still has the two.
      await page.goto(`${base}/apps/${notes.id}`);
      await checkChart(page, 'en', 390);
      // A bar leads to its backup's run.
      const bar = await page.evaluate(() => {
        const canvas = document.querySelector('canvas[data-chart]')!;
        const element = (window as unknown as { Chart: { getChart(c: Element): any } }).Chart.getChart(canvas).getDatasetMeta(0).data[0];
        const box = canvas.getBoundingClientRect();
        return { x: box.left + element.x, y: box.top + element.y + 5 };
      });
      await page.mouse.click(bar.x, bar.y);
      await page.waitForURL(`${base}/runs/${backups[0].id}`);
      expect(blocked).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
