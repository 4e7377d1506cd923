import { createServer, Server } from 'node:http';
import Provider from 'oidc-provider';
import { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, bootOrchestrator, Orchestrator } from './support/orchestrator';
import { launchChromium, noChromium } from './support/browser';
import { servicePort } from './support/processes';


/** The groups each account of the test provider has; the orchestrator maps them to roles. */
const GROUPS: Record<string, string[]> = {
  ana: ['staff', 'backup-admins'],
  omar: ['backup-ops'],
  vera: ['staff'], // no group the orchestrator knows: refused
};

/** A real OpenID provider (oidc-provider), with its development login and consent pages: any password signs in. */
async function startProvider(port: number, redirectUri: string): Promise<{ issuer: string; close(): Promise<void> }> {
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'orquestador', client_secret: 'sso-client-secret-123', redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
    claims: { openid: ['sub'], profile: ['preferred_username', 'groups'], email: ['email'] },
    findAccount: (_context: unknown, id: string) => ({
      accountId: id,
      claims: () => ({ sub: id, preferred_username: id, email: `${id}@example.com`, groups: GROUPS[id] ?? [] }),
    }),
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['test-cookie-key-0123456789'] },
  });
  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { issuer, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe.skipIf(noChromium)('single sign-on with OpenID Connect in a real browser (issue 16, part 4)', () => {
  let orchestrator: Orchestrator;
  let provider: Awaited<ReturnType<typeof startProvider>>;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    const [orchestratorPort, providerPort] = [await servicePort(), await servicePort()];
    base = `http://127.0.0.1:${orchestratorPort}`;
    provider = await startProvider(providerPort, `${base}/auth/oidc/callback`);
    orchestrator = await bootOrchestrator({
      OIDC_ISSUER: provider.issuer,
      OIDC_CLIENT_ID: 'orquestador',
      OIDC_CLIENT_SECRET: 'sso-client-secret-123',
      OIDC_ROLE_CLAIM: 'groups',
      OIDC_ADMINS: 'backup-admins',
      OIDC_OPERATORS: 'backup-ops',
      OIDC_VIEWERS: 'backup-viewers',
      LOCAL_LOGIN: 'false',
    });
    await orchestrator.app.listen(orchestratorPort, '127.0.0.1');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await orchestrator?.close();
    await provider?.close();
  });

  /** From the orchestrator's login page through the provider's sign-in and consent pages, back to the orchestrator. */
  async function signIn(account: string, next = '/'): Promise<Page> {
    const page = await (await browser.newContext({ locale: 'en-US' })).newPage();
    await page.goto(`${base}${next}`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.getByRole('link', { name: `Sign in with 127.0.0.1:${new URL(provider.issuer).port}` }).click();
    await page.waitForURL((url) => url.origin === provider.issuer);
    await page.locator('input[name="login"]').fill(account);
    await page.locator('input[name="password"]').fill('any-password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((url) => url.origin === base);
    return page;
  }

  it('signs an admin in with the role from the groups claim, back to the page asked for', async () => {
    const page = await signIn('ana', '/runs');
    expect(new URL(page.url()).pathname).toBe('/runs');
    expect(await page.locator('[data-user]').textContent()).toBe('ana (admin)');
    await page.goto(`${base}/users`);
    expect(await page.locator('h1').textContent()).toBe('Users');
    const audit = (await orchestrator.api.get('/api/audit?action=login&actor=ana').expect(200)).body;
    expect(audit[0]).toMatchObject({ actorKind: 'sso', outcome: 'success', details: { method: 'sso', role: 'admin' } });
    await page.context().close();
  });

  it('gives an operator the operator role only, and logs out on the server', async () => {
    const page = await signIn('omar');
    expect(await page.locator('[data-user]').textContent()).toBe('omar (operator)');
    expect(await page.getByRole('link', { name: 'Users' }).count()).toBe(0);
    const response = await page.goto(`${base}/users`);
    expect(response!.status()).toBe(403);
    await page.goto(`${base}/`);
    const cookies = await page.context().cookies(base);
    const session = cookies.find((cookie) => cookie.name === 'session')!;
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite).toBe('Lax');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${base}/login`);
    // The cookie the browser had no longer opens anything.
    await request(orchestrator.app.getHttpServer()).get('/').set('Cookie', `session=${session.value}`).expect(303);
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.context().close();
  });

  it('refuses a user whose claims map to no role, with a page saying why, and no session', async () => {
    const page = await signIn('vera');
    expect(new URL(page.url()).pathname).toBe('/auth/oidc/callback');
    const message = await page.locator('[data-login-error]').textContent();
    expect(message).toContain('vera signed in at');
    expect(message).toContain('has no role here');
    expect((await page.context().cookies(base)).some((cookie) => cookie.name === 'session')).toBe(false);
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    const audit = (await orchestrator.api.get('/api/audit?action=login&actor=vera').expect(200)).body;
    expect(audit[0]).toMatchObject({ outcome: 'failure', details: { method: 'sso', error: 'no role for these claims' } });
    await page.context().close();
  });

  it('refuses a callback that this browser did not start (forged or replayed state)', async () => {
    const server = orchestrator.app.getHttpServer();
    const forged = await request(server).get('/auth/oidc/callback?code=stolen&state=made-up').set('Cookie', 'sso-state=made-up').expect(400);
    expect(forged.text).toContain('was not started from this browser');
    // A real start, but the callback arrives without the browser's state cookie (another browser).
    const started = await request(server).get('/auth/oidc/login').expect(303);
    const state = new URL(started.headers.location).searchParams.get('state')!;
    expect(new URL(started.headers.location).searchParams.get('code_challenge_method')).toBe('S256');
    await request(server).get(`/auth/oidc/callback?code=x&state=${state}`).expect(400);
  });

  it('with LOCAL_LOGIN=false, keeps only the env admin\'s password login (break-glass)', async () => {
    const server = orchestrator.app.getHttpServer();
    await orchestrator.api.post('/api/users', { username: 'local-user', password: 'local-pass-123', role: 'admin' }).expect(201);
    await request(server).get('/api/apps').auth('local-user', 'local-pass-123').expect(401);
    const login = await request(server).get('/login').expect(200);
    expect(login.text).toContain('data-break-glass');
    const admin = await orchestrator.pages(ADMIN);
    await admin.get('/').expect(200);
  });
});
