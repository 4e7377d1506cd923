import type request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { RunBody, runBackup, waitForRunEnd } from './support/backups';
import { bootOrchestrator, csrfOf, Orchestrator } from './support/orchestrator';

// The pages of #18: drill fields in the form (token write-only), the app page's drill lines and button,
// the run page's selftest and app version, the backups table's version, the restore dialog's force.
describe('restore drills and app versions on the pages', () => {
  let orchestrator: Orchestrator;
  let production: Awaited<ReturnType<typeof startContractApp>>;
  let drill: Awaited<ReturnType<typeof startContractApp>>;
  let browser: request.Agent;
  let appId: number;
  let backup: RunBody & { backupName: string };

  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
    production = await startContractApp({ token: 'prod-token' });
    drill = await startContractApp({ token: 'drill-secret-token' });
    production.setMode({ size: 4096, app: { name: 'notes', version: '2.1.0', schemaVersion: '2026_11_01' } });
    browser = await orchestrator.pages();
  });
  afterAll(async () => {
    await orchestrator?.close();
    await production?.close();
    await drill?.close();
  });

  const form = (fields: Record<string, string>) =>
    new URLSearchParams({ name: 'notes', url: production.url, token: 'prod-token', schedule: '0 3 * * *', timezone: '', driveFolderId: 'notes', retention: '7', enabled: 'on', ...fields }).toString();

  it.each([
    ['en', 'Restore drills (optional)', 'Drill instance', 'Drill instance token', 'Automatic restore drill'],
    ['es', 'Simulacros de restauración (opcional)', 'Instancia de simulacro', 'Token de la instancia de simulacro', 'Simulacro de restauración automático'],
  ])('offers the drill fields, the token write-only (%s)', async (lang, legend, url, token, schedule) => {
    const page = await browser.get(`/apps/new?lang=${lang}`).expect(200);
    for (const text of [legend, `for="field-drillUrl">${url}</label>`, `for="field-drillToken">${token}</label>`, `for="field-drillSchedule">${schedule}</label>`]) {
      expect(page.text).toContain(text);
    }
    expect(page.text).toMatch(/name="drillToken" type="password"\s+value=""/);
  });

  it('saves a drill instance from the form, refuses one without a token beside the field, and never shows the token', async () => {
    const csrf = csrfOf((await browser.get('/apps/new?lang=en').expect(200)).text);
    const noToken = await browser.post('/apps').type('form').send(form({ _csrf: csrf, drillUrl: drill.url })).expect(400);
    expect(noToken.text).toContain('data-error-for="drillToken">a drill instance needs a token of its own');
    const created = await browser.post('/apps').type('form')
      .send(form({ _csrf: csrf, drillUrl: drill.url, drillToken: 'drill-secret-token', drillSchedule: '0 5 * * 6' })).expect(303);
    appId = Number(/\/apps\/(\d+)$/.exec(created.headers.location)![1]);
    expect((await orchestrator.api.get(`/api/apps/${appId}`).expect(200)).body).toMatchObject({ drillUrl: drill.url, hasDrillToken: true, drillSchedule: '0 5 * * 6' });

    const edit = await browser.get(`/apps/${appId}/edit`).expect(200);
    expect(edit.text).not.toContain('drill-secret-token');
    expect(edit.text).toContain('A token is stored and never shown; leave blank to keep it.');
    // Blank keeps the stored token; a blank schedule turns scheduled drills off.
    await browser.post(`/apps/${appId}`).type('form').send(form({ _csrf: csrfOf(edit.text), token: '', drillUrl: drill.url, drillToken: '', drillSchedule: '' })).expect(303);
    expect((await orchestrator.api.get(`/api/apps/${appId}`).expect(200)).body).toMatchObject({ hasDrillToken: true, drillSchedule: null });

    const show = await browser.get(`/apps/${appId}`).expect(200);
    expect(show.text).not.toContain('drill-secret-token');
    expect(show.text).toContain(`data-drill-url>${drill.url}</dd>`);
    expect(show.text).toMatch(/data-last-drill>never/);
  });

  it('drills from the button; the run page shows the selftest, the app page the last successful drill (EN and ES)', async () => {
    backup = (await runBackup(orchestrator, appId)) as typeof backup;
    const show = await browser.get(`/apps/${appId}`).expect(200);
    expect(show.text).toContain(`action="/apps/${appId}/drill"`);
    const started = await browser.post(`/apps/${appId}/drill`).type('form').send({ _csrf: csrfOf(show.text) }).expect(303);
    const runId = Number(/\/runs\/(\d+)$/.exec(started.headers.location)![1]);
    expect((await waitForRunEnd(orchestrator, runId)).status).toBe('succeeded');

    const runPage = await browser.get(`/runs/${runId}?lang=en`).expect(200);
    expect(runPage.text).toContain('restore drill · <code>');
    expect(runPage.text).toContain('Selftest of the drill instance');
    expect(runPage.text).toMatch(/data-check="ok"><td><span class="text-success">✓<\/span><\/td><td>last import complete<\/td><td class="text-body-secondary">4096 bytes<\/td>/);
    expect((await browser.get(`/runs/${runId}?lang=es`).expect(200)).text).toContain('Autotest de la instancia de simulacro');
    const list = await browser.get('/runs?kind=drill&lang=en').expect(200);
    expect(list.text).toContain(`href="/runs/${runId}"`);
    expect(list.text).toContain('data-kind="drill">restore drill</span>');

    const en = await browser.get(`/apps/${appId}?lang=en`).expect(200);
    expect(en.text).toMatch(new RegExp(`Last successful drill</dt><dd class="col-7" data-last-drill>\\s*<a href="/runs/${runId}">[^<]+</a>\\s*\\(backup of [^)]+\\)\\s*<div class="text-body-secondary text-break"><code>${backup.backupName}</code>`));
    const es = await browser.get(`/apps/${appId}?lang=es`).expect(200);
    expect(es.text).toContain('Último simulacro correcto');
    expect(es.text).toMatch(/\(copia del [^)]+\)/);
  });

  it("shows a backup's app version on its run page and in the backups table", async () => {
    const runPage = await browser.get(`/runs/${backup.id}?lang=en`).expect(200);
    expect(runPage.text).toMatch(/data-app-version>\s*notes <code>2\.1\.0<\/code> <span class="text-body-secondary">· schema <code>2026_11_01<\/code><\/span>/);
    const show = await browser.get(`/apps/${appId}?lang=en`).expect(200);
    const row = show.text.slice(show.text.indexOf(`data-backup="${backup.backupName}"`));
    expect(row.slice(0, row.indexOf('</tr>'))).toContain('<code>2.1.0</code>');
  });

  it('refuses a newer-schema restore from the dialog, and restores it with the force box ticked', async () => {
    production.setMode({ app: { name: 'notes', version: '2.0.0', schemaVersion: '2026_10_01' } });
    const show = await browser.get(`/apps/${appId}?lang=en`).expect(200);
    expect(show.text).toContain('name="force"');
    const action = `/apps/${appId}/backups/${backup.backupName}/restore`;
    const refused = await browser.post(action).type('form').send({ _csrf: csrfOf(show.text), confirm: 'notes' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('newer than the 2026_10_01 the app runs now');
    const forced = await browser.post(action).type('form').send({ _csrf: csrfOf(show.text), confirm: 'notes', force: 'on' }).expect(303);
    const run = await waitForRunEnd(orchestrator, Number(/\/runs\/(\d+)$/.exec(forced.headers.location)![1]));
    expect(run.status).toBe('succeeded');
    expect(run.log.join('\n')).toContain('restoring anyway, as asked (force)');
  });
});

describe('drill schedules across a restart', () => {
  it('registers a stored drillSchedule at boot (the app page shows the next drill), and drops it when the app is disabled', async () => {
    const first = await bootOrchestrator();
    const dataDir = first.dataDir;
    const { id } = (await first.api.post('/api/apps', {
      name: 'kept', url: 'http://127.0.0.1:9', token: 't', schedule: '0 3 * * *', driveFolderId: 'kept', retention: 3,
      drillUrl: 'http://127.0.0.1:8', drillToken: 'd', drillSchedule: '0 5 * * 6',
    }).expect(201)).body;
    await first.close();
    const second = await bootOrchestrator({ DATA_DIR: dataDir });
    try {
      const browser = await second.pages();
      const page = await browser.get(`/apps/${id}?lang=en`).expect(200);
      expect(page.text).toMatch(/Next restore drill<\/dt><dd class="col-7">[A-Z][a-z]{2} \d{1,2}, 20\d\d, 05:00:00 AM UTC<\/dd>/);
      await second.api.patch(`/api/apps/${id}`, { enabled: false }).expect(200);
      expect((await browser.get(`/apps/${id}?lang=en`).expect(200)).text).not.toContain('Next restore drill');
    } finally {
      await second.close();
    }
  });
});
