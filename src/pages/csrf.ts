import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

export const CSRF_COOKIE = 'csrf';
export const CSRF_FIELD = '_csrf';

/**
 * Browsers send basic-auth credentials by themselves, so a form post proves it came from our own page
 * by echoing the per-session token that only our pages can read (double submit; the cookie is
 * SameSite=Strict and HttpOnly, and lives as long as the browser session).
 */
export function csrfTokenFor(request: Request, response: Response): string {
  const existing = request.cookies?.[CSRF_COOKIE];
  if (typeof existing === 'string' && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const token = randomBytes(32).toString('base64url');
  response.cookie(CSRF_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/' });
  return token;
}

@Injectable()
export class CsrfGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    const cookie = Buffer.from(String(request.cookies?.[CSRF_COOKIE] ?? ''));
    const field = Buffer.from(String((request.body as Record<string, unknown> | undefined)?.[CSRF_FIELD] ?? ''));
    if (cookie.length === 0 || cookie.length !== field.length || !timingSafeEqual(cookie, field)) {
      throw new ForbiddenException('the form has expired or did not come from this site: reload the page and try again');
    }
    return true;
  }
}
