import { english } from '../common/i18n';
import { HttpException, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { addressOf, AuditService } from '../audit/audit.service';
import { AppConfig } from '../config/app-config';
import { errorBody } from '../common/error.filter';
import { ApiKeysService } from './api-keys.service';
import { BasicCredentials, credentialsMatch, parseBasicAuth } from './basic-auth';
import { KNOWN_CLIENT_COOKIE, KnownClients } from './known-clients';
import { LoginThrottle } from './login-throttle';
import { Principal } from './principal';
import { SessionsService } from './sessions.service';
import { UsersService, userSubject } from '../users/users.service';
import type { Role } from './roles';

const YEAR_MS = 365 * 24 * 3600 * 1000;

/** A refused login: 401 with the challenge, or 429 while the client is throttled. */
export class AuthRefusedException extends HttpException {
  constructor(
    status: 401 | 429,
    message: string,
    readonly headers: Record<string, string>,
  ) {
    super(errorBody(status, message), status);
  }
}

/** A page asked for without a session: the error filter sends the browser to the login page. */
export class LoginRequiredException extends HttpException {
  readonly location: string;

  constructor(next: string) {
    super(errorBody(401, 'log in first'), 401);
    this.location = `/login?next=${encodeURIComponent(next)}`;
  }
}

/** Who checked out: the principal, plus what a page session needs to remember of the credential. */
interface Verified {
  principal: Omit<Principal, 'sessionId'>;
  subject: string;
  credential: string | null;
}

/**
 * The one place that decides who a request is. Pages know only the session cookie; the API (and the
 * docs) also take basic auth, for scripts. Failed passwords, from the login form or basic auth, are
 * counted per client in one throttle.
 */
@Injectable()
export class AccessService {
  private readonly throttle = new LoginThrottle();
  private readonly knownClients: KnownClients;

  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionsService,
    private readonly users: UsersService,
    private readonly keys: ApiKeysService,
    private readonly audit: AuditService,
  ) {
    this.knownClients = new KnownClients(config.secretKey);
  }

  /** The request's principal, or the refusal: 401 (API) or the way to the login page (pages), 429 while throttled. */
  async authenticate(request: Request, response: Response | undefined, surface: 'api' | 'page'): Promise<Principal> {
    if (surface === 'page') {
      const principal = await this.fromSession(request);
      // After logging in the browser GETs `next`: a form post cannot be replayed that way, so it goes to the dashboard.
      if (!principal) throw new LoginRequiredException(request.method === 'GET' ? request.originalUrl : '/');
      return principal;
    }
    const given = parseBasicAuth(request.headers.authorization);
    if (given) {
      const verified = await this.checkPassword(given, request, response, 'basic');
      if (verified instanceof AuthRefusedException) throw verified;
      return { ...verified.principal, sessionId: null };
    }
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (bearer) return this.fromKey(bearer, request);
    // No header, or one that is neither basic auth nor a key: nothing was guessed, so no counter moves.
    if (request.headers.authorization === undefined) {
      const principal = await this.fromSession(request);
      if (principal) return principal;
    }
    throw this.challenge();
  }

  /**
   * Keys are not throttled: 256 random bits cannot be guessed, and a revoked or expired key must get
   * its 401 at once, every time, so that a CI job fails loudly rather than waits.
   */
  private async fromKey(presented: string, request: Request): Promise<Principal> {
    const key = await this.keys.verify(presented);
    if (typeof key === 'string') {
      const message = key === 'expired' ? 'this API key has expired' : 'unknown or revoked API key';
      // Named by its prefix only: the rest of a presented key is a secret even when it is wrong.
      const actor = /^ao_[0-9a-f]{8}/.exec(presented)?.[0] ?? 'unknown key';
      await this.audit.record({ actor, actorKind: 'anonymous', address: addressOf(request), action: 'login', details: { method: 'key', error: message }, outcome: 'failure', status: 401 });
      throw new AuthRefusedException(401, message, { 'WWW-Authenticate': 'Bearer realm="app-orquestador", error="invalid_token"' });
    }
    return { kind: 'key', name: key.name, role: key.role as Role, sessionId: null };
  }

  /** The principal when the request proves one, else null: for routes that answer everyone but tell more to those who log in. */
  async principalOrNull(request: Request, response?: Response): Promise<Principal | null> {
    try {
      return await this.authenticate(request, response, 'api');
    } catch (error) {
      if (error instanceof AuthRefusedException) return null;
      throw error;
    }
  }

  /** The login form: opens a session for a right user name and password. */
  async logIn(given: BasicCredentials, request: Request, response: Response): Promise<AuthRefusedException | null> {
    const verified = await this.checkPassword(given, request, response, 'password');
    if (verified instanceof AuthRefusedException) return verified;
    const { principal } = verified;
    await this.sessions.open({ subject: verified.subject, name: principal.name, role: principal.role, credential: verified.credential }, request, response);
    await this.audit.record({ actor: principal.name, actorKind: principal.kind, address: addressOf(request), action: 'login', details: { method: 'password' }, outcome: 'success', status: 303 });
    return null;
  }

  /** A single sign-on that mapped to a role: a session like the login form's, recorded the same way. */
  async logInWithSso(signedIn: { subject: string; name: string; role: Role }, request: Request, response: Response): Promise<void> {
    await this.sessions.open({ subject: signedIn.subject, name: signedIn.name, role: signedIn.role, credential: null }, request, response);
    await this.audit.record({ actor: signedIn.name, actorKind: 'sso', address: addressOf(request), action: 'login', details: { method: 'sso', role: signedIn.role }, outcome: 'success', status: 303 });
  }

  /** A single sign-on refused (no role for the claims) or broken: recorded as a failed login. */
  async recordSsoFailure(name: string, error: string, request: Request): Promise<void> {
    await this.audit.record({ actor: name, actorKind: 'anonymous', address: addressOf(request), action: 'login', details: { method: 'sso', error }, outcome: 'failure', status: 403 });
  }

  /**
   * A throttled client is refused before its password is looked at, or its 429s and 200s would tell
   * right from wrong at full speed. A browser that has logged in before (known-client cookie) is
   * counted under its own id, any other client under its address (X-Forwarded-For only with TRUST_PROXY);
   * `response` receives that cookie after a first successful login.
   */
  private async checkPassword(given: BasicCredentials, request: Request, response: Response | undefined, method: 'password' | 'basic'): Promise<Verified | AuthRefusedException> {
    const refuse = async (refusal: AuthRefusedException) => {
      // Failed logins are recorded under the name that was tried (a basic-auth success is not: it is every API call).
      const status = refusal.getStatus();
      await this.audit.record({ actor: given.user || '(empty)', actorKind: 'anonymous', address: addressOf(request), action: 'login', details: { method, error: status === 429 ? 'throttled' : 'wrong user name or password' }, outcome: 'failure', status });
      return refusal;
    };
    const knownId = this.knownClients.idOf(request.cookies?.[KNOWN_CLIENT_COOKIE]);
    const client = knownId ? `known:${knownId}` : `address:${request.ip ?? request.socket.remoteAddress ?? 'unknown'}`;
    const retryAfter = this.throttle.retryAfterSeconds(client);
    if (retryAfter > 0) {
      return refuse(new AuthRefusedException(429, english('failure.tooManyLogins', { seconds: retryAfter }), { 'Retry-After': String(retryAfter) }));
    }
    const verified = await this.verify(given);
    if (!verified) {
      this.throttle.recordFailure(client);
      return refuse(this.challenge());
    }
    this.throttle.recordSuccess(client);
    if (!knownId) {
      response?.cookie(KNOWN_CLIENT_COOKIE, this.knownClients.issue(), { httpOnly: true, sameSite: 'strict', path: '/', maxAge: YEAR_MS, secure: request.secure });
    }
    return verified;
  }

  private async verify(given: BasicCredentials): Promise<Verified | null> {
    if (credentialsMatch(given, this.config.adminUser, this.config.adminPassword)) {
      return { principal: { kind: 'env', name: this.config.adminUser, role: 'admin' }, subject: 'env', credential: this.envCredential() };
    }
    // With LOCAL_LOGIN=false database users sign in through SSO only; the env admin above stays as break-glass.
    if (!this.config.localLogin) return null;
    const user = await this.users.verify(given.user, given.password);
    if (!user) return null;
    return {
      principal: { kind: 'user', name: user.username, role: user.role as Role },
      subject: userSubject(user.id),
      credential: this.sessions.credentialTag(user.passwordHash),
    };
  }

  private async fromSession(request: Request): Promise<Principal | null> {
    const session = await this.sessions.resume(request);
    if (!session) return null;
    if (session.subject === 'env') {
      return session.credential === this.envCredential() ? { kind: 'env', name: session.name, role: 'admin', sessionId: session.id } : null;
    }
    const userId = /^user:(\d+)$/.exec(session.subject)?.[1];
    if (userId) {
      // Read again on every request: a changed role applies at once, a deleted user or new password ends the session.
      const user = await this.users.findById(Number(userId));
      if (!user || session.credential !== this.sessions.credentialTag(user.passwordHash)) return null;
      return { kind: 'user', name: user.username, role: user.role as Role, sessionId: session.id };
    }
    // SSO: the role the claims gave at sign-in, for the session's life (SESSION_MAX_HOURS at most).
    if (session.subject.startsWith('sso:') && this.config.oidc) return { kind: 'sso', name: session.name, role: session.role as Role, sessionId: session.id };
    return null;
  }

  /** The env admin's sessions end when ADMIN_USER or ADMIN_PASSWORD changes. */
  private envCredential(): string {
    return this.sessions.credentialTag(`${this.config.adminUser}:${this.config.adminPassword}`);
  }

  private challenge(): AuthRefusedException {
    return new AuthRefusedException(401, english('failure.authRequired'), {
      'WWW-Authenticate': 'Basic realm="app-orquestador", charset="UTF-8"',
    });
  }
}
