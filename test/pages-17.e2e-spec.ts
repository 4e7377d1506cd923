import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { RunBody, waitForRunEnd } from './support/backups';
import { bootOrchestrator, csrfOf, Orchestrator, waitFor } from './support/orchestrator';

type Agent = ReturnType<typeof request.agent>;
const TOKEN = 'pages-17-token';
/** The CSP allows no inline script, event handler or style. */
const INLINE = /<script(?![^>]*\bsrc=)|\son[a-z]+=|\sstyle=/;

/** Issue #17, tried as a new user would: what the pages show after backups, verifications, restores and failures. */
describe('pages, as a new user finds them (#17)', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let browser: Agent;
  let notes: { id: number };
  let backup: RunBody;
  let verify: RunBody;
  let restore: RunBody;

  const runOf = async (path: string) => waitForRunEnd(orchestrator, (await orchestrator.api.post(path.split('?')[0], path.includes('?') ? {} : undefined).expect(202)).body.runId);

  beforeAll(async () => {
    contract = await startContractApp({ token: TOKEN });
    contract.setMode({ size: 3000 });
    // The running-page test leaves a run waiting for a silent app: closing must not wait for it.
    orchestrator = await bootOrchestrator({ SHUTDOWN_GRACE_S: '0' });
    browser = (await orchestrator.pages()).set('Accept', 'text/html');
    notes = (await orchestrator.api.post('/api/apps', { name: 'notes', url: contract.url, token: TOKEN, schedule: '0 3 * * *', driveFolderId: 'notes', retention: 3 }).expect(201)).body;
    backup = await runOf(`/api/apps/${notes.id}/run`);
    verify = await waitForRunEnd(orchestrator, (await orchestrator.api.post(`/api/apps/${notes.id}/verify`, {}).expect(202)).body.runId);
    restore = await waitForRunEnd(orchestrator, (await orchestrator.api.post(`/api/apps/${notes.id}/restore`, { backup: backup.backupName }).expect(202)).body.runId);
    for (const run of [backup, verify, restore]) expect(run.status).toBe('succeeded');
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
  });

  describe('2: verifications and restores are not shown as backups', () => {
    it('the dashboard row shows the last backup, and the last verification apart', async () => {
      for (const language of ['en', 'es']) {
        const page = await browser.get('/').set('Accept-Language', language).expect(200);
        const row = /<tr data-app="notes"[\s\S]*?<\/tr>/.exec(page.text)![0];
        const lastBackup = /<div data-last-backup>[\s\S]*?<\/div>\s*<\/div>/.exec(row)![0];
        expect(lastBackup).toContain(`href="/runs/${backup.id}"`);
        expect(lastBackup).not.toContain(`href="/runs/${restore.id}"`);
        expect(row).toMatch(new RegExp(`data-last-verify>${language === 'en' ? 'Last verification' : 'Última verificación'}: <span class="badge text-bg-success"[^>]*>[^<]+</span>\\s*<a href="/runs/${verify.id}"`));
        expect(page.text).toContain(language === 'en' ? '<th scope="col">Last backup</th>' : '<th scope="col">Última copia</th>');
      }
    });

    it('the chart of the app page draws the backups only; its history names each run\'s kind', async () => {
      const page = await browser.get(`/apps/${notes.id}`).expect(200);
      const entities: Record<string, string> = { '&quot;': '"', '&amp;': '&', '&#x27;': "'", '&#x3D;': '=', '&#x60;': '`', '&lt;': '<', '&gt;': '>' };
      const chart = JSON.parse(/data-chart="([^"]+)"/.exec(page.text)![1].replace(/&[#\w]+;/g, (entity) => entities[entity]));
      expect(chart.runs).toEqual([backup.id]);
      for (const [run, kind] of [[backup, 'backup'], [verify, 'verify'], [restore, 'restore']] as const) {
        const row = new RegExp(`<tr><td><a href="/runs/${run.id}">${run.id}</a></td>[\\s\\S]*?</tr>`).exec(page.text)![0];
        expect(row).toMatch(new RegExp(`<span class="badge [^"]+" data-kind="${kind}">`));
      }
    });
  });

  describe('3: a failed run', () => {
    it('puts the error first with Edit and Try again, no stale "started" banner, and says why the log is empty', async () => {
      const broken = (await orchestrator.api.post('/api/apps', { name: 'broken', url: 'http://127.0.0.1:9', token: 'x', schedule: '0 3 * * *', driveFolderId: 'b', retention: 1 }).expect(201)).body;
      const token = csrfOf((await browser.get(`/apps/${broken.id}`).expect(200)).text);
      const started = await browser.post(`/apps/${broken.id}/run`).type('form').send({ _csrf: token }).expect(303);
      const runId = Number(started.headers.location.split('/').pop());
      expect((await waitForRunEnd(orchestrator, runId)).status).toBe('failed');

      const page = await browser.get(started.headers.location).expect(200);
      expect(page.text).not.toContain('Backup of &quot;broken&quot; started.');
      const failure = page.text.indexOf('data-run-failure');
      expect(failure).toBeGreaterThan(-1);
      expect(failure).toBeLessThan(page.text.indexOf('<dl'));
      expect(page.text).toContain(`href="/apps/${broken.id}/edit" data-edit-app>Edit the settings of broken</a>`);
      expect(page.text).toMatch(new RegExp(`<form method="post" action="/apps/${broken.id}/run"><input type="hidden" name="_csrf" value="[^"]+">\\s*<button [^>]*data-try-again>Try again</button>`));
      expect(page.text).toContain('Nothing logged: the run failed before contacting the app');
      expect(page.text).not.toMatch(/data-live="log">\s*<\/pre>/);
      expect(page.text).not.toMatch(INLINE);

      const spanish = await browser.get(started.headers.location).set('Accept-Language', 'es').expect(200);
      expect(spanish.text).toContain('Reintentar');
      expect(spanish.text).toContain('la ejecución falló antes de contactar con la app');

      const again = await browser.post(`/apps/${broken.id}/run`).type('form').send({ _csrf: csrfOf(page.text) }).expect(303);
      expect(Number(again.headers.location.split('/').pop())).toBeGreaterThan(runId);
      await waitForRunEnd(orchestrator, Number(again.headers.location.split('/').pop()));
      await orchestrator.api.delete(`/api/apps/${broken.id}`).expect(204);
    });

    it('offers a failed verification again, a failed restore only through the app page', async () => {
      contract.setMode({ behaviour: 'import-500' });
      const { runId } = (await orchestrator.api.post(`/api/apps/${notes.id}/restore`, { backup: backup.backupName }).expect(202)).body;
      const failedRestore = await waitForRunEnd(orchestrator, runId).finally(() => contract.setMode({ behaviour: undefined }));
      expect(failedRestore.status).toBe('failed');
      const restorePage = await browser.get(`/runs/${failedRestore.id}`).expect(200);
      // A restore replaces data: it is started again only from the app page, with the name typed.
      expect(restorePage.text).not.toContain('data-try-again');
      expect(restorePage.text).toContain(`href="/apps/${notes.id}/edit" data-edit-app`);

      writeFileSync(backup.remotePath!, 'damaged');
      const failedVerify = await waitForRunEnd(orchestrator, (await orchestrator.api.post(`/api/apps/${notes.id}/verify`, { backup: backup.backupName }).expect(202)).body.runId);
      expect(failedVerify.status).toBe('failed');
      const verifyPage = await browser.get(`/runs/${failedVerify.id}`).expect(200);
      expect(verifyPage.text).toMatch(new RegExp(`<form method="post" action="/apps/${notes.id}/backups/${backup.backupName}/verify">[\\s\\S]*?data-try-again>Try again<`));
    });
  });

  describe('9: all runs in one place', () => {
    it('lists runs with filters as a GET form and pages to older ones; the dashboard counts link there', async () => {
      const dashboard = await browser.get('/').expect(200);
      expect(dashboard.text).toMatch(/href="\/runs" data-summary="runs24h"/);
      expect(dashboard.text).toMatch(/href="\/runs\?status=failed" data-summary="failures24h"/);
      expect(dashboard.text).toContain('<a class="nav-link" href="/runs">Runs</a>');

      const all = await browser.get('/runs').expect(200);
      const ids = [...all.text.matchAll(/<tr data-run="(\d+)">/g)].map((match) => Number(match[1]));
      expect(ids.length).toBeGreaterThanOrEqual(4);
      expect(ids).toEqual([...ids].sort((a, b) => b - a));
      expect(all.text).toContain('<form class="row g-2 align-items-end mb-3" method="get" action="/runs"');
      expect(all.text).not.toMatch(INLINE);

      // The form sends every field; blank ones mean "any".
      const verifications = await browser.get('/runs?status=&kind=verify&trigger=').expect(200);
      expect([...verifications.text.matchAll(/<tr data-run="(\d+)">/g)].map((match) => Number(match[1]))).toContain(verify.id);
      expect(verifications.text).not.toMatch(/data-kind="(backup|restore)"/);
      expect(verifications.text).toMatch(/<option value="verify" selected>verification<\/option>/);

      const failed = await browser.get('/runs?status=failed').set('Accept-Language', 'es').expect(200);
      expect(failed.text).toContain('fallida');
      expect(failed.text).not.toMatch(/data-status="succeeded"/);

      const first = await browser.get(`/runs?appId=${notes.id}&limit=2`).expect(200);
      expect(first.text).toContain('App: notes');
      const next = /href="([^"]+)" rel="next"/.exec(first.text)![1].replaceAll('&amp;', '&').replaceAll('&#x3D;', '=');
      const firstIds = [...first.text.matchAll(/<tr data-run="(\d+)">/g)].map((match) => Number(match[1]));
      expect(next).toBe(`/runs?appId=${notes.id}&limit=2&before=${firstIds[1]}`);
      const second = await browser.get(next).expect(200);
      expect(Number(/<tr data-run="(\d+)">/.exec(second.text)![1])).toBeLessThan(firstIds[1]);

      expect((await browser.get('/runs?status=done').expect(400)).text).toContain('status');
      const switched = await (await orchestrator.pages()).get('/runs?lang=es').expect(200);
      expect(switched.text).toContain('<html lang="es">');
    });
  });

  describe('10: the running page', () => {
    it('says it waits for the app until the first byte; missing SHA-256 and path are a grey dash', async () => {
      contract.setMode({ behaviour: 'silent-export' });
      try {
        const { runId } = (await orchestrator.api.post(`/api/apps/${notes.id}/run`).expect(202)).body;
        await waitFor(async () => ((await orchestrator.api.get(`/api/runs/${runId}`)).body.status === 'running' ? true : undefined));
        for (const [language, waiting] of [['en', 'waiting for the app to start sending'], ['es', 'esperando a que la app empiece a enviar']]) {
          const page = await browser.get(`/runs/${runId}`).set('Accept-Language', language).expect(200);
          expect(page.text).toMatch(new RegExp(`data-live="bytes"><span class="text-body-secondary">${waiting}</span>`));
          expect(page.text).toContain(`data-waiting="${waiting}"`);
          expect(page.text).not.toContain('0 B');
          expect(page.text).not.toMatch(/<code[^>]*>—<\/code>/);
          expect(page.text.match(/<span class="text-body-secondary" data-none>—<\/span>/g)).toHaveLength(2);
        }
      } finally {
        contract.setMode({ behaviour: undefined });
      }
    });
  });

  describe('11: Check connection', () => {
    it('stays on the app page it was pressed on, with the result there; the dashboard\'s stays on the dashboard', async () => {
      const page = await browser.get(`/apps/${notes.id}`).expect(200);
      expect(page.text).toMatch(new RegExp(`action="/apps/${notes.id}/check"><input type="hidden" name="_csrf" value="[^"]+">\\s*<input type="hidden" name="from" value="app">`));
      const checked = await browser.post(`/apps/${notes.id}/check`).type('form').send({ _csrf: csrfOf(page.text), from: 'app' }).expect(303);
      expect(checked.headers.location).toBe(`/apps/${notes.id}`);
      expect((await browser.get(checked.headers.location).expect(200)).text).toContain('notes: connected. Contract v1, backup type sqlite.');
      const fromDashboard = await browser.post(`/apps/${notes.id}/check`).type('form').send({ _csrf: csrfOf(page.text) }).expect(303);
      expect(fromDashboard.headers.location).toBe('/');
      const elsewhere = await browser.post(`/apps/${notes.id}/check`).type('form').send({ _csrf: csrfOf(page.text), from: 'https://evil.example' }).expect(303);
      expect(elsewhere.headers.location).toBe('/');
    });
  });

  describe('12: the new-app form', () => {
    it('has example placeholders, schedule presets and a preview area filled by app.js, no inline script', async () => {
      for (const [language, daily] of [['en', 'Daily at 03:00'], ['es', 'Cada día a las 03:00']]) {
        const page = await browser.get('/apps/new').set('Accept-Language', language).expect(200);
        expect(page.text).toMatch(/name="url" type="url"\s+value="" placeholder="http:\/\/billing:8000"/);
        expect(page.text).toMatch(/name="schedule" type="text"\s+value="" placeholder="0 3 \* \* \*"/);
        expect(page.text).toContain(`<button class="btn btn-sm btn-outline-secondary" type="button" data-cron="0 3 * * *">${daily}</button>`);
        expect(page.text).toContain('data-cron="0 * * * *"');
        expect(page.text).toContain('data-cron="0 3 * * 0"');
        expect(page.text).toMatch(new RegExp(`data-schedule-preview aria-live="polite" data-locale="${language}"`));
        expect(page.text).not.toMatch(INLINE);
      }
      const script = await browser.get('/assets/app.js').expect(200);
      expect(script.text).toContain('/api/schedule-preview?');
      expect(script.text).toContain('[data-cron]');
    });

    it('says next to the token field that a typed token must be typed again after a validation error', async () => {
      const page = await browser.get('/apps/new').expect(200);
      const fields = { _csrf: csrfOf(page.text), name: 'Bad Name', url: contract.url, token: TOKEN, schedule: '0 3 * * *', driveFolderId: 'x', retention: '1' };
      const invalid = await browser.post('/apps').type('form').send(fields).expect(400);
      expect(invalid.text).toContain('data-note-for="token">For safety the token you typed is not sent back: type it again.</div>');
      expect(invalid.text).not.toContain(TOKEN);
      const spanish = await browser.post('/apps').set('Accept-Language', 'es').type('form').send(fields).expect(400);
      expect(spanish.text).toContain('data-note-for="token">Por seguridad el token escrito no se devuelve: escríbelo de nuevo.</div>');
      const withoutToken = await browser.post('/apps').type('form').send({ ...fields, token: '' }).expect(400);
      expect(withoutToken.text).not.toContain('data-note-for="token"');
    });
  });

  describe('14: icon and colour mode', () => {
    it('serves /favicon.ico, links it from every page, and follows the system colour scheme from app.js', async () => {
      const icon = await browser.get('/favicon.ico').buffer(true).parse((response, done) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => done(null, Buffer.concat(chunks)));
      }).expect(200);
      expect(icon.headers['content-type']).toMatch(/icon/);
      expect(icon.body).toEqual(readFileSync(join(process.cwd(), 'public/favicon.ico')));
      for (const path of ['/', '/runs', '/apps/new', `/apps/${notes.id}`]) {
        const page = await browser.get(path).expect(200);
        expect(page.text).toContain('<link rel="icon" href="/favicon.ico" sizes="32x32">');
        expect(page.text).toContain('<meta name="color-scheme" content="light dark">');
      }
      expect((await browser.get('/assets/app.js').expect(200)).text).toContain("matchMedia('(prefers-color-scheme: dark)')");
    });
  });
});
