import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { runBackup, waitForRunEnd } from './support/backups';
import { appInput, bootOrchestrator, Orchestrator } from './support/orchestrator';
import { launchChromium, loggedInContext, noChromium } from './support/browser';

const SHOTS = join(process.cwd(), 'test/screenshots');
const TOKEN = 'i18n-token';

/** Issue #17 point 7: on Spanish pages every message is Spanish, also the ones the service writes itself. */
describe.skipIf(noChromium)('Spanish pages show no English (#17.7)', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    contract = await startContractApp({ token: TOKEN });
    orchestrator = await bootOrchestrator();
    await orchestrator.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(orchestrator.app.getHttpServer().address() as { port: number }).port}`;
    browser = await launchChromium();
    context = await loggedInContext(browser, base, { locale: 'es-ES' });
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await orchestrator?.close();
    await contract?.close();
  });

  const errorOf = (field: string) => page.locator(`[data-error-for="${field}"]`).innerText();
  const preview = () => page.locator('[data-schedule-preview]').innerText();

  it('the new-app form names what is wrong with each field in Spanish', async () => {
    await page.goto(`${base}/apps/new`);
    // The browser's own checks (required, type=url…) would stop the post: the server's messages are under test.
    await page.locator('form[action="/apps"]').evaluate((form: HTMLFormElement) => (form.noValidate = true));
    await page.fill('#field-name', 'Mis Notas');
    await page.fill('#field-url', 'ftp://notes');
    await page.fill('#field-token', '');
    await page.fill('#field-schedule', '61 * * * *');
    await page.fill('#field-timezone', 'Mars/Olympus');
    await page.fill('#field-driveFolderId', '../notes');
    await page.fill('#field-retention', '0');
    await page.fill('#field-pingUrl', 'not a url');
    await Promise.all([page.waitForURL(`${base}/apps`), page.locator('form[action="/apps"] button[type="submit"]').click()]);
    await page.screenshot({ path: join(SHOTS, 'i18n-es-form-errors.png'), fullPage: true });

    expect(await errorOf('name')).toBe('debe tener de 1 a 63 letras minúsculas, cifras o "-", y empezar por una letra o una cifra');
    expect(await errorOf('url')).toBe('debe ser una URL http:// o https://, p. ej. http://billing:8000');
    expect(await errorOf('token')).toBe('no puede estar vacío');
    expect(await errorOf('schedule')).toBe('no es una expresión cron válida: el valor 61 está fuera de rango');
    expect(await errorOf('timezone')).toBe('debe ser una zona horaria IANA como UTC o Europe/Madrid');
    expect(await errorOf('driveFolderId')).toBe('no puede contener segmentos ".."');
    expect(await errorOf('retention')).toBe('no puede ser menor que 1');
    expect(await errorOf('pingUrl')).toBe('debe ser una URL http:// o https://');
    // The schedule preview (GET /api/schedule-preview, English like all the API) is refused for the zone: said in Spanish.
    await expect.poll(() => preview()).toBe('Zona horaria: debe ser una zona horaria IANA como UTC o Europe/Madrid');
  });

  it('the form in Spanish translates the other rules too: cron fields, folder characters, the retention maximum', async () => {
    await page.goto(`${base}/apps/new`);
    await page.locator('form[action="/apps"]').evaluate((form: HTMLFormElement) => (form.noValidate = true));
    await page.fill('#field-name', 'notes');
    await page.fill('#field-url', contract.url);
    await page.fill('#field-token', TOKEN);
    await page.fill('#field-schedule', '0 3 * *');
    await page.fill('#field-driveFolderId', 'a:b');
    await page.fill('#field-retention', '1001');
    await Promise.all([page.waitForURL(`${base}/apps`), page.locator('form[action="/apps"] button[type="submit"]').click()]);
    expect(await errorOf('schedule')).toBe('debe tener 5 campos (minuto hora día mes día-semana), o 6 con los segundos primero; tiene 4');
    expect(await errorOf('driveFolderId')).toBe('no puede contener ":" ni ","');
    expect(await errorOf('retention')).toBe('no puede ser mayor que 1000');
    await expect.poll(() => preview()).toBe('debe tener 5 campos (minuto hora día mes día-semana), o 6 con los segundos primero; tiene 4');
  });

  it('a run that failed before contacting the app shows its error in Spanish', async () => {
    const app = (await orchestrator.api.post('/api/apps', appInput({ name: 'gone', url: 'http://127.0.0.1:9', driveFolderId: 'gone' })).expect(201)).body;
    const run = await runBackup(orchestrator, app.id);
    expect(run.error).toBe('capabilities: connection to 127.0.0.1:9 refused: is the app running and listening on that port?'); // the API stays English

    await page.goto(`${base}/runs/${run.id}`);
    await page.screenshot({ path: join(SHOTS, 'i18n-es-failed-run.png'), fullPage: true });
    expect(await page.locator('[data-run-error]').innerText()).toBe(
      'capacidades: conexión con 127.0.0.1:9 rechazada: ¿está la app en marcha y escuchando en ese puerto?',
    );
    expect(await page.locator('[data-empty-log]').innerText()).toContain('la ejecución falló antes de contactar con la app');
  });

  it('an app that sends an empty backup: the error and each log line are Spanish', async () => {
    contract.setMode({ size: 0, length: false, checksum: false, framing: 'chunked' });
    const app = (await orchestrator.api.post('/api/apps', appInput({ name: 'empty', url: contract.url, token: TOKEN, driveFolderId: 'empty' })).expect(201)).body;
    const run = await runBackup(orchestrator, app.id);
    expect(run.error).toBe('export: the app sent an empty backup');

    await page.goto(`${base}/runs/${run.id}`);
    expect(await page.locator('[data-run-error]').innerText()).toBe('exportación: la app envió una copia vacía');
    const log = await page.locator('[data-live="log"]').innerText();
    expect(log).toMatch(/^\S+Z capacidades: contrato v1, tipo \S+$/m);
    expect(log).toMatch(/^\S+Z exportación iniciada: tamaño no anunciado, suma de control no anunciada; subiendo como empty-/m);
    expect(log).not.toMatch(/capabilities|export started|announced/);
  });

  it('a successful run logs in Spanish, names and values kept', async () => {
    contract.setMode({ size: 4096, length: true, checksum: true });
    const app = (await orchestrator.api.post('/api/apps', appInput({ name: 'fine', url: contract.url, token: TOKEN, driveFolderId: 'fine' })).expect(201)).body;
    const run = await runBackup(orchestrator, app.id);
    expect(run.status).toBe('succeeded');

    await page.goto(`${base}/runs/${run.id}`);
    const log = await page.locator('[data-live="log"]').innerText();
    expect(log).toContain('exportación iniciada: 4096 bytes anunciados, suma de control anunciada; subiendo como fine-');
    expect(log).toContain(`guardados 4096 bytes como ${run.remotePath}, sha256 ${run.sha256}`);
    expect(log).toMatch(/retención: se conservan las \d+ más recientes, 0 para borrar/);
    expect(log).not.toMatch(/stored|retention|keeping/);
  });

  it('while a run is in progress, the live log the page polls is Spanish too', async () => {
    contract.setMode({ size: 2 * 1024 * 1024, length: true, checksum: true, delayMs: 100 }); // ~3 s: the page polls every second
    const app = (await orchestrator.api.post('/api/apps', appInput({ name: 'slow', url: contract.url, token: TOKEN, driveFolderId: 'slow' })).expect(201)).body;
    const { runId } = (await orchestrator.api.post(`/api/apps/${app.id}/run`).expect(202)).body;
    // A poll that brings the export's start: what the page puts in its log box comes from there.
    const polled = page.waitForResponse(
      async (response) => response.url().endsWith(`/runs/${runId}/live`) && ((await response.json()) as { log: string[] }).log.length >= 2,
      { timeout: 10_000 },
    );
    await page.goto(`${base}/runs/${runId}`);
    expect(await page.locator('#run').getAttribute('data-status')).toMatch(/queued|running/);
    const { log, status } = (await (await polled).json()) as { log: string[]; status: string };
    expect(status).toBe('running');
    expect(log[1]).toMatch(/^\S+Z exportación iniciada: 2097152 bytes anunciados, suma de control anunciada; subiendo como slow-/);
    await expect.poll(() => page.locator('[data-live="log"]').innerText()).toContain('exportación iniciada: 2097152 bytes anunciados');
    expect(await page.locator('[data-live="log"]').innerText()).not.toMatch(/capabilities|export started/);
    const api = (await orchestrator.api.get(`/api/runs/${runId}`).set('Accept-Language', 'es').expect(200)).body;
    expect(api.log.join('\n')).toContain('export started: 2097152 bytes announced'); // the API's log stays English
  });

  it('error pages in Spanish: a refused form post, a bad filter with its field, a run that is not there', async () => {
    const spanish = (await orchestrator.pages()).set('Accept', 'text/html').set('Accept-Language', 'es');
    const forged = await spanish.post('/apps').type('form').send({ _csrf: 'forged', name: 'x' }).expect(403);
    expect(forged.text).toContain('el formulario ha caducado o no viene de este sitio: recarga la página y vuelve a intentarlo');
    const filtered = await spanish.get('/?status=bogus').expect(400);
    expect(filtered.text).toMatch(/data-error-for="status"><code>status<\/code>: debe ser uno de ok, failed, /);
    const missing = await spanish.get('/runs/999999').expect(404);
    expect(missing.text).toContain('Esta página no existe.');
  });

  it('an encrypted backup and a cancelled run log in Spanish (and join the sweep below)', async () => {
    contract.setMode({ size: 4096, length: true, checksum: true });
    const input = appInput({ name: 'sealed', url: contract.url, token: TOKEN, driveFolderId: 'sealed', encryption: 'rclone-crypt', encryptionPassphrase: 'i18n passphrase' });
    const sealed = (await orchestrator.api.post('/api/apps', input).expect(201)).body;
    const stored = await runBackup(orchestrator, sealed.id);
    expect(stored.status).toBe('succeeded');
    await page.goto(`${base}/runs/${stored.id}`);
    const storedLog = await page.locator('[data-live="log"]').innerText();
    expect(storedLog).toContain(`cifrada por rclone crypt (se guarda como ${stored.backupName}.bin)`);
    expect(storedLog).toContain(`guardados 4096 bytes como ${stored.remotePath} (cifrada), sha256 ${stored.sha256}`);

    contract.setMode({ size: 64 * 1024 * 1024, length: true, checksum: true, delayMs: 20 }); // over 20 s: cancelled long before
    const app = (await orchestrator.api.post('/api/apps', appInput({ name: 'stopped', url: contract.url, token: TOKEN, driveFolderId: 'stopped' })).expect(201)).body;
    const { runId } = (await orchestrator.api.post(`/api/apps/${app.id}/run`).expect(202)).body;
    await expect.poll(async () => (await orchestrator.api.get(`/api/runs/${runId}`).expect(200)).body.bytes, { timeout: 10_000 }).toBeGreaterThan(0);
    await orchestrator.api.post(`/api/runs/${runId}/cancel`).expect(202);
    const cancelled = await waitForRunEnd(orchestrator, runId);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.log.at(-1)).toMatch(/ cancelled by an admin after \d+ bytes: stopped before the backup was stored/); // the API stays English
    const late = await orchestrator.api.post(`/api/runs/${runId}/cancel`).expect(409);
    expect(late.body.message).toBe(`run ${runId} has already finished (cancelled): only a queued or running run can be cancelled`);

    await page.goto(`${base}/runs/${runId}`);
    expect(await page.locator('[data-live="log"]').innerText()).toMatch(
      /\S+Z cancelada por un administrador tras \d+ bytes: detenida antes de guardar la copia .*: no se guardó ni se borró nada$/m,
    );
    expect(await page.locator('[data-run-cancelled]').innerText()).toMatch(/^Cancelada antes de guardar la copia/);
  });

  it('no page in Spanish shows a piece of an English message', async () => {
    const en = JSON.parse(readFileSync('src/common/locales/en.json', 'utf8')) as Record<string, string>;
    const es = Object.values(JSON.parse(readFileSync('src/common/locales/es.json', 'utf8')) as Record<string, string>).join('\n');
    // The words of each English message between its values, long enough to be telling and not Spanish too.
    const english = [...new Set(Object.values(en).flatMap((text) => text.split(/\{\w+\}/)).map((part) => part.trim()))].filter(
      (part) => part.length >= 12 && !es.includes(part),
    );
    const apps = (await orchestrator.api.get('/api/apps').expect(200)).body as { id: number }[];
    const runs = (await orchestrator.api.get('/api/runs').expect(200)).body as { id: number }[];
    const pages = ['/', '/runs', '/apps/new', ...apps.flatMap(({ id }) => [`/apps/${id}`, `/apps/${id}/edit`]), ...runs.map(({ id }) => `/runs/${id}`)];
    for (const path of pages) {
      await page.goto(`${base}${path}`);
      const text = await page.locator('body').innerText();
      expect(english.filter((part) => text.includes(part)), path).toEqual([]);
    }
    expect(pages.length).toBeGreaterThan(10);
  });

  it('the API keeps answering in English whatever the browser prefers', async () => {
    const refused = await orchestrator.api.post('/api/apps', appInput({ name: 'Bad Name' })).set('Accept-Language', 'es').expect(400);
    expect(refused.body.details).toEqual([{ field: 'name', reasons: ['must be 1-63 lowercase letters, digits or "-", starting with a letter or digit'] }]);
  });
});
