import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { hkdfSync } from 'node:crypto';
import { doubleCsrf, DoubleCsrfUtilities } from 'csrf-csrf';
import type { Request, Response } from 'express';
import { principalOf } from '../auth/principal';
import { AppConfig } from '../config/app-config';
import { english } from '../common/i18n';

export const CSRF_COOKIE = 'csrf';
export const CSRF_FIELD = '_csrf';

/**
 * Browsers send the session cookie by themselves, so a form post proves it came from our own page
 * by echoing the token our page carries (signed double submit, csrf-csrf). The token is an HMAC, under
 * a key derived from SECRET_KEY, of a random value and of the session the page was served in: a
 * cookie planted by another site (or another port of this host) cannot be signed, and a token issued
 * in another session does not fit this one. The login form, before any session, is bound to "no session".
 */
@Injectable()
export class PageCsrf {
  private readonly csrf: DoubleCsrfUtilities;

  constructor(config: AppConfig) {
    const secret = Buffer.from(hkdfSync('sha256', config.secretKey, 'app-orquestador', 'page-csrf', 32)).toString('base64url');
    this.csrf = doubleCsrf({
      getSecret: () => secret,
      // The guard has set the principal; its session id is the stored hash, never the cookie's value.
      getSessionIdentifier: (request) => principalOf(request)?.sessionId ?? '',
      cookieName: CSRF_COOKIE,
      // Not Secure by default: the service is often reached over plain http on an internal network.
      cookieOptions: { httpOnly: true, sameSite: 'strict', path: '/', secure: false },
      getCsrfTokenFromRequest: (request: Request) => (request.body as Record<string, unknown> | undefined)?.[CSRF_FIELD] as string | undefined,
    });
  }

  /** This browser's token: the one in its cookie when that is valid for this session, else a new one. */
  tokenFor(request: Request, response: Response): string {
    return this.csrf.generateCsrfToken(request, response, { cookieOptions: { secure: request.secure } });
  }

  isValid(request: Request): boolean {
    return this.csrf.validateRequest(request);
  }
}

@Injectable()
export class CsrfGuard implements CanActivate {
  constructor(private readonly csrf: PageCsrf) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.csrf.isValid(context.switchToHttp().getRequest<Request>())) {
      throw new ForbiddenException(english('failure.csrf'));
    }
    return true;
  }
}
