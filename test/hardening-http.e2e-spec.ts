import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApp } from './support/backups';
import { ADMIN, bootOrchestrator, csrfOf, Orchestrator } from './support/orchestrator';

type Server = Parameters<typeof request>[0];

describe('cross-site writes (issue 12, point 3)', () => {
  let orchestrator: Orchestrator;
  let server: Server;
  let appId: number;

  beforeAll(async () => {
    orchestrator = await bootOrchestrator({ PUBLIC_URL: 'https://backups.example.com/' });
    server = orchestrator.app.getHttpServer();
    appId = (await registerApp(orchestrator, { name: 'target' })).id;
  });
  afterAll(() => orchestrator.close());

  const writes = () => [
    ['POST', `/api/apps/${appId}/run`],
    ['POST', `/api/apps/${appId}/check`],
    ['POST', `/api/apps/${appId}/verify`],
    ['PATCH', `/api/apps/${appId}`],
    ['DELETE', `/api/apps/${appId}`],
    ['POST', `/apps/${appId}/run`],
    ['POST', `/apps/${appId}/delete`],
  ] as const;
  const send = (method: string, path: string, headers: Record<string, string>) =>
    request(server)[method.toLowerCase() as 'post'](path).auth(ADMIN.user, ADMIN.password).set(headers);

  it.each([
    { 'Sec-Fetch-Site': 'cross-site' },
    { 'Sec-Fetch-Site': 'same-site' },
    { 'Sec-Fetch-Site': 'cross-site', Origin: 'http://127.0.0.1' },
    { Origin: 'http://evil.example' },
    { Origin: 'null' },
  ])('refuses every write marked %o with 403 and changes nothing', async (headers) => {
    for (const [method, path] of writes()) {
      const response = await send(method, path, headers).expect(403);
      expect(response.body.message).toMatch(/sent by a page from another site/);
    }
    // Before auth and before the body is read: no credentials and a broken body still get the 403.
    await request(server).post(`/api/apps/${appId}/run`).set(headers).expect(403);
    await request(server).patch(`/api/apps/${appId}`).set(headers).type('json').send('{broken').expect(403);
    expect((await orchestrator.api.get(`/api/apps/${appId}/runs`).expect(200)).body).toEqual([]);
    expect((await orchestrator.api.get(`/api/apps/${appId}`).expect(200)).body.name).toBe('target');
  });

  it('lets through reads, scripts without browser headers, same-origin pages and PUBLIC_URL', async () => {
    await send('GET', `/api/apps/${appId}`, { 'Sec-Fetch-Site': 'cross-site' }).expect(200);
    await send('POST', `/api/apps/${appId}/check`, {}).expect(200);
    await send('POST', `/api/apps/${appId}/check`, { 'Sec-Fetch-Site': 'same-origin' }).expect(200);
    await send('POST', `/api/apps/${appId}/check`, { 'Sec-Fetch-Site': 'none' }).expect(200);
    await send('POST', `/api/apps/${appId}/check`, { Origin: 'http://orchestrator.lan:8080', Host: 'orchestrator.lan:8080' }).expect(200);
    await send('POST', `/api/apps/${appId}/check`, { Origin: 'https://backups.example.com', Host: 'internal:8080' }).expect(200);
    await send('POST', `/api/apps/${appId}/check`, { Origin: 'http://orchestrator.lan:8081', Host: 'orchestrator.lan:8080' }).expect(403);
  });
});

describe('login throttling (issue 12, point 7)', () => {
  const failTenTimes = async (server: Server, headers: Record<string, string> = {}) => {
    for (let attempt = 0; attempt < 10; attempt++) {
      await request(server).get('/api/apps').auth(ADMIN.user, `guess-${attempt}`).set(headers).expect(401);
    }
  };

  it('does not lock out a browser that has logged in before, however often others fail from its address', async () => {
    const orchestrator = await bootOrchestrator();
    try {
      const server = orchestrator.app.getHttpServer();
      const admin = request.agent(server);
      const logIn = async () => {
        const csrf = csrfOf((await admin.get('/login').expect(200)).text);
        return admin.post('/login').type('form').send({ _csrf: csrf, username: ADMIN.user, password: ADMIN.password });
      };
      const login = await logIn();
      expect(login.status).toBe(303);
      expect(login.headers['set-cookie']?.join()).toMatch(/known-client=[^;]+; Max-Age=\d+;.*HttpOnly; SameSite=Strict/);
      await failTenTimes(server);
      await request(server).get('/api/apps').auth(ADMIN.user, ADMIN.password).expect(429); // the attacker's address is blocked
      await request(server).get('/api/apps').auth(ADMIN.user, ADMIN.password).set('Cookie', 'known-client=forged.signature').expect(429);
      // The login form counts in the same throttle: a stranger at that address is refused there too.
      const stranger = request.agent(server);
      const strangerCsrf = csrfOf((await stranger.get('/login').expect(200)).text);
      await stranger.post('/login').type('form').send({ _csrf: strangerCsrf, username: ADMIN.user, password: ADMIN.password }).expect(429);
      await admin.get('/api/apps').auth(ADMIN.user, ADMIN.password).expect(200);
      await admin.get('/api/docs-json').expect(200);
      expect((await logIn()).status).toBe(303);
    } finally {
      await orchestrator.close();
    }
  });

  it('answers malformed Authorization headers 401 without counting them', async () => {
    const orchestrator = await bootOrchestrator();
    try {
      const server = orchestrator.app.getHttpServer();
      for (const header of ['Basic', 'Basic !!!', 'Basic bm9jb2xvbg==', 'Bearer abc', 'garbage']) {
        for (let attempt = 0; attempt < 3; attempt++) await request(server).get('/api/apps').set('Authorization', header).expect(401);
      }
      await request(server).get('/api/apps').auth(ADMIN.user, ADMIN.password).expect(200);
    } finally {
      await orchestrator.close();
    }
  });

  it('ignores X-Forwarded-For by default', async () => {
    const orchestrator = await bootOrchestrator();
    try {
      const server = orchestrator.app.getHttpServer();
      await failTenTimes(server, { 'X-Forwarded-For': '203.0.113.1' });
      await request(server).get('/api/apps').auth(ADMIN.user, ADMIN.password).set('X-Forwarded-For', '203.0.113.2').expect(429);
    } finally {
      await orchestrator.close();
    }
  });

  it('with TRUST_PROXY, counts each X-Forwarded-For client on its own', async () => {
    const orchestrator = await bootOrchestrator({ TRUST_PROXY: '1' });
    try {
      const server = orchestrator.app.getHttpServer();
      await failTenTimes(server, { 'X-Forwarded-For': '203.0.113.1' });
      await request(server).get('/api/apps').auth(ADMIN.user, ADMIN.password).set('X-Forwarded-For', '203.0.113.1').expect(429);
      await request(server).get('/api/apps').auth(ADMIN.user, ADMIN.password).set('X-Forwarded-For', '203.0.113.2').expect(200);
    } finally {
      await orchestrator.close();
    }
  });
});

describe('page CSRF tokens (issue 12, point 8)', () => {
  const pageToken = async (browser: ReturnType<typeof request.agent>, path: string) =>
    csrfOf((await browser.get(path).expect(200)).text);

  it('refuses a planted cookie echoed in the form, a token issued in another session, and sessions of a changed password', async () => {
    const first = await bootOrchestrator();
    const dataDir = first.dataDir;
    let token = '';
    let sessionCookie = '';
    let appId = 0;
    try {
      appId = (await registerApp(first, { name: 'victim' })).id;
      const browser = (await first.pages()).set('Accept', 'text/html');
      for (const planted of ['planted-value-0123456789abcdefghijklmnopqrstu', `${'a'.repeat(64)}.${'b'.repeat(64)}`]) {
        await browser.post(`/apps/${appId}/delete`).set('Cookie', `csrf=${planted}`).type('form').send({ _csrf: planted }).expect(403);
      }
      await first.api.get(`/api/apps/${appId}`).expect(200);
      token = await pageToken(browser, '/');
      expect((await pageToken(browser, `/apps/${appId}`))).toBe(token); // one token per browser session, valid on every page
      // Another browser, logged in as the same admin, cannot use it: the token is bound to the session.
      const other = (await first.pages()).set('Accept', 'text/html');
      await other.post(`/apps/${appId}/delete`).set('Cookie', `csrf=${token}`).type('form').send({ _csrf: token }).expect(403);
      await first.api.get(`/api/apps/${appId}`).expect(200);
      const sent = (await browser.get('/').expect(200)) as unknown as { req: { getHeader(name: string): unknown } };
      sessionCookie = /session=[^;]+/.exec(String(sent.req.getHeader('cookie')))?.[0] ?? '';
    } finally {
      await first.close();
    }

    // Same data folder (same secret key), other admin password: the old session has ended, its token with it.
    const second = await bootOrchestrator({ DATA_DIR: dataDir, ADMIN_PASSWORD: 'another-password-456' });
    try {
      expect(sessionCookie).toMatch(/^session=./);
      await request(second.app.getHttpServer())
        .post(`/apps/${appId}/delete`)
        .set('Cookie', `${sessionCookie}; csrf=${token}`)
        .type('form')
        .send({ _csrf: token })
        .expect(303)
        .expect('Location', /^\/login/);
      const fresh = await second.pages({ user: ADMIN.user, password: 'another-password-456' });
      await fresh.post(`/apps/${appId}/delete`).set('Cookie', `csrf=${token}`).type('form').send({ _csrf: token }).expect(403);
      await request(second.app.getHttpServer()).get(`/api/apps/${appId}`).auth(ADMIN.user, 'another-password-456').expect(200);
    } finally {
      await second.close();
    }
  });
});

describe('health without credentials and security headers (issue 12, point 14)', () => {
  let orchestrator: Orchestrator;
  let server: Server;

  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
    server = orchestrator.app.getHttpServer();
    await registerApp(orchestrator, { name: 'secret-app-name' });
  });
  afterAll(() => orchestrator.close());

  it('tells only the status without credentials or with wrong ones, and everything to the admin', async () => {
    expect((await request(server).get('/api/health').expect(200)).body).toEqual({ status: 'ok' });
    expect((await request(server).get('/api/health').auth(ADMIN.user, 'wrong').expect(200)).body).toEqual({ status: 'ok' });
    expect((await request(server).get('/api/health').set('Authorization', 'Bearer x').expect(200)).body).toEqual({ status: 'ok' });
    const full = await orchestrator.api.get('/api/health').expect(200);
    // Health lists only stale apps (issue 19): a fresh one is counted, not named.
    expect(full.body.checks.backups).toEqual({ status: 'ok', total: 1, stale: 0, partial: 0, apps: [], more: 0 });
    expect(full.body.checks.rclone.version).toMatch(/^rclone v1\./);
  });

  it.each(['/', '/api/apps', '/api/health', '/api/docs/'])('%s sends the security headers, with no inline script allowed', async (path) => {
    const client = path === '/' ? await orchestrator.pages() : orchestrator.api;
    const { headers } = await client.get(path).set('Accept', 'text/html').expect(200);
    const csp = Object.fromEntries(String(headers['content-security-policy']).split(';').map((part) => {
      const [name, ...values] = part.trim().split(/\s+/);
      return [name, values];
    }));
    expect(csp['default-src']).toEqual(["'self'"]);
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['script-src-attr']).toEqual(["'none'"]);
    expect(csp['frame-ancestors']).toEqual(["'none'"]);
    expect(csp['style-src']).toEqual(path === '/api/docs/' ? ["'self'", "'unsafe-inline'"] : ["'self'"]);
    expect(csp).not.toHaveProperty('upgrade-insecure-requests');
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(headers).not.toHaveProperty('strict-transport-security');
  });
});
