import { HttpException, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';
import { errorBody } from '../common/error.filter';
import { credentialsMatch, parseBasicAuth } from './basic-auth';
import { KNOWN_CLIENT_COOKIE, KnownClients } from './known-clients';
import { LoginThrottle } from './login-throttle';
import { english } from '../common/i18n';

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

/** The one credential check, used by the global guard and by the middleware that protects the docs. */
@Injectable()
export class BasicAuthService {
  private readonly throttle = new LoginThrottle();
  private readonly knownClients: KnownClients;

  constructor(private readonly config: AppConfig) {
    this.knownClients = new KnownClients(config.secretKey);
  }

  /**
   * Null when the request carries the admin's credentials, otherwise the refusal to send. Failures are
   * counted per client: a browser that has logged in before (known-client cookie) under its own id, any
   * other client under its address (X-Forwarded-For only with TRUST_PROXY). A throttled client is
   * refused before its credentials are looked at, or its 429s and 200s would tell right from wrong
   * at full speed. `response` receives the known-client cookie after a first successful login.
   */
  refusalFor(request: Request, response?: Response): AuthRefusedException | null {
    const given = parseBasicAuth(request.headers.authorization);
    // No credentials, or a header that is not basic auth: nothing was guessed, so no counter moves.
    if (!given) return this.challenge();
    const knownId = this.knownClients.idOf(request.cookies?.[KNOWN_CLIENT_COOKIE]);
    const client = knownId ? `known:${knownId}` : `address:${request.ip ?? request.socket.remoteAddress ?? 'unknown'}`;
    const retryAfter = this.throttle.retryAfterSeconds(client);
    if (retryAfter > 0) {
      return new AuthRefusedException(429, english('failure.tooManyLogins', { seconds: retryAfter }), {
        'Retry-After': String(retryAfter),
      });
    }
    if (!credentialsMatch(given, this.config.adminUser, this.config.adminPassword)) {
      this.throttle.recordFailure(client);
      return this.challenge();
    }
    this.throttle.recordSuccess(client);
    if (!knownId) {
      response?.cookie(KNOWN_CLIENT_COOKIE, this.knownClients.issue(), { httpOnly: true, sameSite: 'strict', path: '/', maxAge: YEAR_MS, secure: request.secure });
    }
    return null;
  }

  private challenge(): AuthRefusedException {
    return new AuthRefusedException(401, english('failure.authRequired'), {
      'WWW-Authenticate': 'Basic realm="app-orquestador", charset="UTF-8"',
    });
  }
}
