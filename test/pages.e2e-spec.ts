import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { waitForRunEnd } from './support/backups';
import { ADMIN, bootOrchestrator, csrfOf, Orchestrator } from './support/orchestrator';

type Agent = ReturnType<typeof request.agent>;
const TOKEN = 'page-token-never-shown-7731';

describe('admin pages', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let browser: Agent;

  beforeAll(async () => {
    contract = await startContractApp({ token: TOKEN });
    contract.setMode({ size: 200_000 });
    orchestrator = await bootOrchestrator();
    browser = (await orchestrator.pages()).set('Accept', 'text/html');
  });
  afterAll(async () => {
    await orchestrator.close();
    await contract.close();
  });

  /** The CSRF token of this browser session, read from a page as a browser would. */
  async function csrf(): Promise<string> {
    const page = await browser.get('/apps/new').expect(200);
    return csrfOf(page.text);
  }

  const form = (fields: Record<string, string>) =>
    new URLSearchParams({ name: 'shop', url: contract.url, token: TOKEN, schedule: '0 3 * * *', timezone: '', driveFolderId: 'shop', retention: '7', enabled: 'on', ...fields }).toString();

  it('sends a browser without a session to the login page; basic auth does not open the pages', async () => {
    const server = orchestrator.app.getHttpServer();
    await request(server).get('/runs?status=failed').set('Accept', 'text/html').expect(303).expect('Location', '/login?next=%2Fruns%3Fstatus%3Dfailed');
    const withBasic = await request(server).get('/').auth(ADMIN.user, ADMIN.password).set('Accept', 'text/html').expect(303);
    expect(withBasic.headers['www-authenticate']).toBeUndefined(); // no browser prompt that would cache the password
    // A post cannot be replayed by the GET that follows the login: the browser goes to the dashboard instead.
    await request(server).post('/apps/1/delete').auth(ADMIN.user, ADMIN.password).type('form').send({}).expect(303).expect('Location', '/login?next=%2F');
  });

  it('shows an empty state with a button to add the first app, with assets served locally', async () => {
    const page = await browser.get('/').expect(200);
    expect(page.text).toContain('No apps yet');
    expect(page.text).toContain('href="/apps/new"');
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    await browser.get('/assets/bootstrap/css/bootstrap.min.css').expect(200);
    await browser.get('/assets/app.js').expect(200);
  });

  it('has a form with the exact field names, each with a label, and a write-only token', async () => {
    const page = await browser.get('/apps/new').expect(200);
    for (const name of ['name', 'url', 'token', 'schedule', 'timezone', 'driveFolderId', 'retention', 'enabled']) {
      expect(page.text).toMatch(new RegExp(`id="field-${name}" name="${name}"`));
      expect(page.text).toContain(`<label class="form-${name === 'enabled' ? 'check-' : ''}label" for="field-${name}">`);
    }
    expect(page.text).toMatch(/name="token" type="password"\s+value=""/);
  });

  it('refuses a post without a valid CSRF token with 403 and changes nothing', async () => {
    await browser.post('/apps').type('form').send(form({})).expect(403);
    await browser.post('/apps').type('form').send(form({ _csrf: 'forged' })).expect(403);
    expect((await orchestrator.api.get('/api/apps').expect(200)).body).toEqual([]);
  });

  it('shows validation errors inline, keeps what was typed, never echoes the token, then creates the app', async () => {
    const token = await csrf();
    const invalid = await browser.post('/apps').type('form').send(form({ _csrf: token, schedule: '61 * * * *', retention: '0' })).expect(400);
    expect(invalid.text).toMatch(/data-error-for="schedule">is not a valid cron expression/);
    expect(invalid.text).toMatch(/data-error-for="retention">must not be less than 1/);
    expect(invalid.text).toContain('value="61 * * * *"');
    expect(invalid.text).toContain(`value="${contract.url}"`);
    expect(invalid.text).not.toContain(TOKEN);

    const created = await browser.post('/apps').type('form').send(form({ _csrf: token })).expect(303);
    expect(created.headers.location).toMatch(/^\/apps\/\d+$/);
    const page = await browser.get(created.headers.location).expect(200);
    expect(page.text).toContain('App &quot;shop&quot; added.');
    expect(page.text).not.toContain(TOKEN);
  });

  it('edits without touching the token when the field is left blank', async () => {
    const [app] = (await orchestrator.api.get('/api/apps').expect(200)).body;
    const edit = await browser.get(`/apps/${app.id}/edit`).expect(200);
    expect(edit.text).not.toContain(TOKEN);
    expect(edit.text).toContain('value="0 3 * * *"');
    await browser.post(`/apps/${app.id}`).type('form').send(form({ _csrf: await csrf(), token: '', retention: '3' })).expect(303);
    expect((await orchestrator.api.get(`/api/apps/${app.id}`).expect(200)).body.retention).toBe(3);
    expect((await orchestrator.api.post(`/api/apps/${app.id}/check`).expect(200)).body.ok).toBe(true);
  });

  it('checks the connection, runs a backup and shows the run with its log, in English and Spanish', async () => {
    const [app] = (await orchestrator.api.get('/api/apps').expect(200)).body;
    const token = await csrf();
    const checked = await browser.post(`/apps/${app.id}/check`).type('form').send({ _csrf: token }).expect(303);
    expect((await browser.get(checked.headers.location).expect(200)).text).toContain('shop: connected. Contract v1, backup type sqlite.');

    const started = await browser.post(`/apps/${app.id}/run`).type('form').send({ _csrf: token }).expect(303);
    const runId = Number(started.headers.location.split('/').pop());
    expect((await waitForRunEnd(orchestrator, runId)).status).toBe('succeeded');
    const runPage = await browser.get(`/runs/${runId}`).expect(200);
    expect(runPage.text).toContain('data-status="succeeded"');
    expect(runPage.text).toContain('195.3 KiB');
    expect(runPage.text).toMatch(/capabilities: contract v1, type sqlite/);

    const dashboard = await browser.get('/').expect(200);
    expect(dashboard.text).toContain('Test now');
    expect(dashboard.text).toContain('At 03:00 · <code class="text-nowrap" data-cron-expression>0 3 * * *</code>');

    const spanish = await browser.get('/').set('Accept-Language', 'es-ES,es;q=0.9').expect(200);
    expect(spanish.text).toContain('Probar ahora');
    expect(spanish.text).toContain('<html lang="es">');
    expect(spanish.text).toContain('195,3 KiB');
    expect(spanish.text).toContain('A las 03:00');

    const appPage = await browser.get(`/apps/${app.id}`).expect(200);
    // The chart: Chart.js from node_modules, served here behind the same credentials; its data in an attribute.
    expect(appPage.text).toMatch(/<canvas [^>]*data-chart="\{&quot;locale&quot;:&quot;en&quot;/);
    expect(appPage.text).toContain('<script src="/assets/chart.js/chart.umd.min.js"></script>');
    // Served from node_modules like Bootstrap, public like every asset under /assets (the login page needs them).
    const chartJs = await request(orchestrator.app.getHttpServer()).get('/assets/chart.js/chart.umd.min.js').expect(200);
    expect(chartJs.text).toContain('Chart.js v4');
    // The CSP allows no inline script, event handler or style on pages: none may be needed.
    for (const text of [appPage.text, runPage.text, dashboard.text]) expect(text).not.toMatch(/<script(?![^>]*\bsrc=)|\son[a-z]+=|\sstyle=/);
    expect(appPage.text).toMatch(/shop-\d{8}T\d{6}Z\.db/);
  });

  it('answers unknown pages with a 404 page in the layout', async () => {
    for (const path of ['/apps/999', '/runs/999', '/apps/x/edit', '/nowhere']) {
      const page = await browser.get(path).expect(404);
      expect(page.text).toContain('This page does not exist.');
      expect(page.text).toContain('app-orquestador</a>');
    }
  });

  it('deletes an app after the confirmation, keeping its backups', async () => {
    const [app] = (await orchestrator.api.get('/api/apps').expect(200)).body;
    const page = await browser.get('/').expect(200);
    expect(page.text).toContain(`data-confirm="Delete the app &quot;shop&quot;? Its backups stay in the remote."`);
    const deleted = await browser.post(`/apps/${app.id}/delete`).type('form').send({ _csrf: await csrf() }).expect(303);
    expect(deleted.headers.location).toBe('/');
    await orchestrator.api.get(`/api/apps/${app.id}`).expect(404);
  });
});

describe('UI_LANGUAGE', () => {
  it('overrides the browser language for every page', async () => {
    const orchestrator = await bootOrchestrator({ UI_LANGUAGE: 'es' });
    try {
      const page = await (await orchestrator.pages()).get('/').set('Accept-Language', 'en').expect(200);
      expect(page.text).toContain('Aún no hay apps');
      expect(page.text).not.toContain('?lang=en');
    } finally {
      await orchestrator.close();
    }
  });
});

describe('backup actions on the app page', () => {
  it('downloads, verifies, and restores only after the app name is typed', async () => {
    const contract = await startContractApp({ token: TOKEN });
    contract.setMode({ size: 5000 });
    const orchestrator = await bootOrchestrator();
    try {
      const browser = (await orchestrator.pages()).set('Accept', 'text/html');
      const { body: app } = await orchestrator.api.post('/api/apps', { name: 'pages', url: contract.url, token: TOKEN, schedule: '0 3 * * *', driveFolderId: 'p', retention: 3 }).expect(201);
      const backup = await waitForRunEnd(orchestrator, (await orchestrator.api.post(`/api/apps/${app.id}/run`).expect(202)).body.runId);
      const page = await browser.get(`/apps/${app.id}`).expect(200);
      const csrf = csrfOf(page.text);
      expect(page.text).toContain(`href="/api/apps/${app.id}/backups/${backup.backupName}/download"`);
      expect(page.text).toContain('not verified');

      const verify = await browser.post(`/apps/${app.id}/backups/${backup.backupName}/verify`).type('form').send({ _csrf: csrf }).expect(303);
      expect((await waitForRunEnd(orchestrator, Number(verify.headers.location.split('/').pop()))).status).toBe('succeeded');
      expect((await browser.get(`/apps/${app.id}`).expect(200)).text).toMatch(/badge text-bg-success">verified /);

      const unconfirmed = await browser.post(`/apps/${app.id}/backups/${backup.backupName}/restore`).type('form').send({ _csrf: csrf, confirm: 'page' }).expect(303);
      expect(unconfirmed.headers.location).toBe(`/apps/${app.id}`);
      expect((await browser.get(`/apps/${app.id}`).expect(200)).text).toContain('Restore not started: type the app name &quot;pages&quot; exactly');
      expect(contract.imports).toEqual([]);
      await browser.post(`/apps/${app.id}/backups/${backup.backupName}/restore`).type('form').send({ confirm: 'pages' }).expect(403);

      const restore = await browser.post(`/apps/${app.id}/backups/${backup.backupName}/restore`).type('form').send({ _csrf: csrf, confirm: 'pages' }).expect(303);
      expect((await waitForRunEnd(orchestrator, Number(restore.headers.location.split('/').pop()))).status).toBe('succeeded');
      expect(contract.imports).toHaveLength(1);
    } finally {
      await orchestrator.close();
      await contract.close();
    }
  });
});
