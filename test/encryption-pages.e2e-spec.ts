import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { runBackup } from './support/backups';
import { bootOrchestrator, csrfOf, Orchestrator } from './support/orchestrator';

const PASSPHRASE = 'form passphrase, never shown 4412';

describe('encryption on the admin pages', () => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let browser: ReturnType<typeof request.agent>;

  beforeAll(async () => {
    contract = await startContractApp({ token: 'test-token' });
    contract.setMode({ size: 50_000 });
    orchestrator = await bootOrchestrator();
    browser = (await orchestrator.pages()).set('Accept', 'text/html');
  });
  afterAll(async () => {
    await orchestrator.close();
    await contract.close();
  });
  const form = (fields: Record<string, string>) =>
    new URLSearchParams({ name: 'safe', url: contract.url, token: 'test-token', schedule: '0 3 * * *', timezone: '', driveFolderId: 'safe', retention: '7', enabled: 'on', ...fields }).toString();

  it.each([
    ['en', 'Encryption', 'Encryption passphrase', 'rclone crypt: encrypted in the stream'],
    ['es', 'Cifrado', 'Frase de cifrado', 'rclone crypt: cifrada al vuelo'],
  ])('offers encryption and a write-only passphrase field (%s)', async (lang, label, passphraseLabel, option) => {
    const page = await browser.get(`/apps/new?lang=${lang}`).expect(200);
    expect(page.text).toContain(`<label class="form-label" for="field-encryption">${label}</label>`);
    expect(page.text).toContain(`<label class="form-label" for="field-encryptionPassphrase">${passphraseLabel}</label>`);
    expect(page.text).toMatch(/<select class="form-select" id="field-encryption" name="encryption"/);
    expect(page.text).toContain(`<option value="rclone-crypt" >${option}`);
    expect(page.text).toMatch(/name="encryptionPassphrase" type="password"\s+value=""/);
  });

  it('refuses rclone-crypt without any passphrase beside the field, never echoes a typed one, and saves it write-only', async () => {
    const newPage = await browser.get('/apps/new?lang=en').expect(200);
    const csrf = csrfOf(newPage.text);
    const missing = await browser.post('/apps').type('form').send(form({ _csrf: csrf, encryption: 'rclone-crypt' })).expect(400);
    expect(missing.text).toMatch(/data-error-for="encryptionPassphrase">is required for encryption &quot;rclone-crypt&quot;/);
    expect(missing.text).toMatch(/<option value="rclone-crypt" selected>/);

    // Another field is wrong: the passphrase typed is not sent back, and the form says to type it again.
    const retype = await browser.post('/apps').type('form').send(form({ _csrf: csrf, encryption: 'rclone-crypt', encryptionPassphrase: PASSPHRASE, retention: '0' })).expect(400);
    expect(retype.text).not.toContain(PASSPHRASE);
    expect(retype.text).toContain('data-note-for="encryptionPassphrase">For safety the passphrase you typed is not sent back');

    const created = await browser.post('/apps').type('form').send(form({ _csrf: csrf, encryption: 'rclone-crypt', encryptionPassphrase: PASSPHRASE })).expect(303);
    const id = Number(/\/apps\/(\d+)$/.exec(created.headers.location)![1]);
    const { body: app } = await orchestrator.api.get(`/api/apps/${id}`).expect(200);
    expect(app).toMatchObject({ encryption: 'rclone-crypt', hasEncryptionPassphrase: true });

    // Blank on edit keeps it: the backup made after the edit decrypts with it (checked by verify).
    const edit = await browser.get(`/apps/${id}/edit`).expect(200);
    expect(edit.text).not.toContain(PASSPHRASE);
    expect(edit.text).toContain('Leave blank to keep the stored passphrase');
    await browser.post(`/apps/${id}`).type('form').send(form({ _csrf: csrfOf(edit.text), token: '', encryption: 'rclone-crypt', encryptionPassphrase: '', retention: '3' })).expect(303);
    expect((await orchestrator.api.get(`/api/apps/${id}`).expect(200)).body).toMatchObject({ retention: 3, hasEncryptionPassphrase: true });
    const run = await runBackup(orchestrator, id);
    expect(run.status).toBe('succeeded');

    const show = await browser.get(`/apps/${id}?lang=es`).expect(200);
    expect(show.text).toMatch(/<span class="badge text-bg-info" data-encrypted>cifrada<\/span>/);
    expect(show.text).not.toContain(PASSPHRASE);
  });
});
