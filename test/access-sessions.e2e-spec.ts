import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseOf, TestDatabase } from './support/database';
import { ADMIN, bootOrchestrator, csrfOf, Orchestrator } from './support/orchestrator';

type Agent = ReturnType<typeof request.agent>;

/** The session cookie's value the agent holds, read from what it sends. */
async function sessionCookieOf(agent: Agent): Promise<string> {
  const sent = (await agent.get('/').expect(200)) as unknown as { req: { getHeader(name: string): unknown } };
  return /session=([^;]+)/.exec(String(sent.req.getHeader('cookie')))![1];
}

describe('login page and sessions (issue 16, part 1)', () => {
  let orchestrator: Orchestrator;
  let server: Parameters<typeof request>[0];
  let db: TestDatabase;

  beforeAll(async () => {
    orchestrator = await bootOrchestrator();
    server = orchestrator.app.getHttpServer();
    db = databaseOf(orchestrator);
  });
  afterAll(() => orchestrator.close());

  it('shows the login page in English and Spanish, with no navigation before logging in', async () => {
    const en = await request(server).get('/login').set('Accept-Language', 'en').expect(200);
    expect(en.text).toContain('Log in');
    expect(en.text).not.toContain('href="/runs"');
    const es = await request(server).get('/login').set('Accept-Language', 'es').expect(200);
    expect(es.text).toContain('Iniciar sesión');
    expect(es.text).toContain('Contraseña');
    await request(server).get('/assets/bootstrap/css/bootstrap.min.css').expect(200); // the login page's style, without a session
  });

  it('refuses a wrong password with the form again (name kept) and opens no session', async () => {
    const agent = request.agent(server);
    const csrf = csrfOf((await agent.get('/login').expect(200)).text);
    const refused = await agent.post('/login').type('form').send({ _csrf: csrf, username: ADMIN.user, password: 'wrong-password', next: '/' }).expect(401);
    expect(refused.text).toContain('Wrong user name or password.');
    expect(refused.text).toContain(`value="${ADMIN.user}"`);
    expect(refused.headers['set-cookie']?.join() ?? '').not.toMatch(/session=/);
    await agent.get('/').expect(303).expect('Location', '/login?next=%2F');
    // Without the login form's token the post is refused before the password is looked at.
    await request(server).post('/login').type('form').send({ username: ADMIN.user, password: ADMIN.password }).expect(403);
  });

  it('logs in to the page asked for, with an HttpOnly SameSite=Lax cookie holding a token stored only hashed', async () => {
    const agent = request.agent(server);
    const csrf = csrfOf((await agent.get('/login?next=/runs').expect(200)).text);
    const done = await agent.post('/login').type('form').send({ _csrf: csrf, username: ADMIN.user, password: ADMIN.password, next: '/runs?kind=verify' }).expect(303);
    expect(done.headers.location).toBe('/runs?kind=verify');
    const cookie = done.headers['set-cookie']!.find((line: string) => line.startsWith('session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Max-Age=43200/); // SESSION_MAX_HOURS=12 by default
    expect(cookie).not.toMatch(/Secure/);
    const token = /^session=([^;]+)/.exec(cookie)![1];
    const rows = await db.query('SELECT id, subject, role FROM sessions');
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows).toContainEqual(expect.objectContaining({ subject: 'env', role: 'admin' }));
    const page = await agent.get('/').expect(200);
    expect(page.text).toContain('data-logout');
    expect(page.text).toContain(`${ADMIN.user} (admin)`);
    // The API takes the session too (Swagger UI in the same browser).
    await agent.get('/api/apps').expect(200);
    await agent.get('/api/docs-json').expect(200);
    // Logging in again in the same browser replaces the session: the old one is ended, not left behind.
    const again = csrfOf((await agent.get('/login').expect(200)).text);
    await agent.post('/login').type('form').send({ _csrf: again, username: ADMIN.user, password: ADMIN.password }).expect(303);
    await request(server).get('/').set('Cookie', `session=${token}`).expect(303);
    await agent.get('/').expect(200);
  });

  it('sends a browser without a session from the API docs to the login page, and back after it', async () => {
    await request(server).get('/api/docs/').set('Accept', 'text/html,application/xhtml+xml').expect(303).expect('Location', '/login?next=%2Fapi%2Fdocs%2F');
    await request(server).get('/api/docs/').expect(401).expect('WWW-Authenticate', /^Basic/); // scripts still get the challenge
    const agent = await orchestrator.pages();
    expect((await agent.get('/api/docs/').set('Accept', 'text/html').expect(200)).text).toContain('swagger-ui');
  });

  it('never sends the browser to another site after logging in', async () => {
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const agent = request.agent(server);
      const csrf = csrfOf((await agent.get('/login').expect(200)).text);
      await agent.post('/login').type('form').send({ _csrf: csrf, username: ADMIN.user, password: ADMIN.password, next }).expect(303).expect('Location', '/');
    }
  });

  it('logs out on the server: a copy of the cookie is worthless afterwards', async () => {
    const agent = await orchestrator.pages();
    const token = await sessionCookieOf(agent);
    const copy = () => request(server).get('/').set('Cookie', `session=${token}`);
    await copy().expect(200);
    const csrf = csrfOf((await agent.get('/').expect(200)).text);
    await agent.post('/logout').type('form').send({}).expect(403); // log out is a form post like any other: CSRF-checked
    await agent.post('/logout').type('form').send({ _csrf: csrf }).expect(303).expect('Location', '/login');
    await copy().expect(303).expect('Location', '/login?next=%2F');
    await request(server).get('/api/apps').set('Cookie', `session=${token}`).expect(401);
  });

  it('ends a session left idle longer than SESSION_IDLE_MINUTES, and any session after SESSION_MAX_HOURS', async () => {
    const idle = await orchestrator.pages();
    const active = await orchestrator.pages();
    const idleId = (await db.query('SELECT id FROM sessions ORDER BY "createdAt" DESC LIMIT 2'))[1].id;
    const activeId = (await db.query('SELECT id FROM sessions ORDER BY "createdAt" DESC LIMIT 1'))[0].id;
    // 61 minutes without a request (default idle limit: 60).
    await db.query('UPDATE sessions SET "lastSeenAt" = ? WHERE id = ?', [db.ago(61 * 60_000), idleId]);
    await idle.get('/').expect(303).expect('Location', '/login?next=%2F');
    expect(await db.query('SELECT id FROM sessions WHERE id = ?', [idleId])).toEqual([]);
    // Active a moment ago, but opened more than 12 hours ago.
    await db.query('UPDATE sessions SET "expiresAt" = ? WHERE id = ?', [db.ago(1000), activeId]);
    await active.get('/runs').expect(303);
    expect(await db.query('SELECT id FROM sessions WHERE id = ?', [activeId])).toEqual([]);
  });
});

describe('session cookie behind https', () => {
  it('is Secure when PUBLIC_URL is https, and honours SESSION_* limits', async () => {
    const orchestrator = await bootOrchestrator({ PUBLIC_URL: 'https://backups.example.com', SESSION_MAX_HOURS: '2', SESSION_IDLE_MINUTES: '5' });
    try {
      const agent = request.agent(orchestrator.app.getHttpServer());
      const csrf = csrfOf((await agent.get('/login').expect(200)).text);
      const done = await agent.post('/login').type('form').send({ _csrf: csrf, username: ADMIN.user, password: ADMIN.password }).expect(303);
      const cookie = done.headers['set-cookie']!.find((line: string) => line.startsWith('session='))!;
      expect(cookie).toMatch(/Secure/);
      expect(cookie).toMatch(/Max-Age=7200/);
      const db = databaseOf(orchestrator);
      await db.query('UPDATE sessions SET "lastSeenAt" = ?', [db.ago(6 * 60_000)]);
      // A Secure cookie is not sent back over plain http by a real browser; supertest's agent keeps it in its jar but
      // does not send it either, so check through the Cookie header directly.
      const token = /^session=([^;]+)/.exec(cookie)![1];
      await request(orchestrator.app.getHttpServer()).get('/').set('Cookie', `session=${token}`).expect(303);
    } finally {
      await orchestrator.close();
    }
  });

  it('refuses SESSION_* values out of range at boot', async () => {
    await expect(bootOrchestrator({ SESSION_IDLE_MINUTES: '0' })).rejects.toThrow(/SESSION_IDLE_MINUTES/);
    await expect(bootOrchestrator({ SESSION_MAX_HOURS: 'soon' })).rejects.toThrow(/SESSION_MAX_HOURS/);
  });
});
