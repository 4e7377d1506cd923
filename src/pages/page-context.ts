import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { principalOf } from '../auth/principal';
import { roleAllows } from '../auth/roles';
import { AppConfig } from '../config/app-config';
import { PageCsrf } from './csrf';
import { isLocale, LANGUAGE_CHOICES } from '../common/i18n';
import { isMessageKey, localeOf, MessageKey, translate } from './i18n';

const FLASH_COOKIE = 'flash';

/** What every page needs: who is logged in, language, time zone, CSRF token and the message left by the last action. */
@Injectable()
export class PageContext {
  constructor(
    private readonly config: AppConfig,
    private readonly csrf: PageCsrf,
  ) {}

  of(request: Request, response: Response) {
    const picked = request.query.lang;
    if (isLocale(picked)) {
      // The language switch: remembered for this browser; the cookie is read by localeOf from the next request on.
      response.cookie('lang', picked, { sameSite: 'strict', path: '/', maxAge: 365 * 24 * 3600 * 1000 });
      request.cookies = { ...request.cookies, lang: picked };
    }
    const locale = localeOf(request, this.config.uiLanguage);
    const user = principalOf(request);
    return {
      // Who is logged in (null on the login page); the pages offer only what the role may do.
      user,
      canOperate: user !== null && roleAllows(user.role, 'operator'),
      isAdmin: user !== null && roleAllows(user.role, 'admin'),
      locale,
      timezone: this.config.scheduler.timezone,
      replicaZone: this.config.zone,
      verifyGlobal: this.config.scheduler.verifySchedule ?? translate(locale, 'verify.globalOff'),
      csrfToken: this.csrf.tokenFor(request, response),
      flash: this.takeFlash(request, response, locale),
      languageFixed: this.config.uiLanguage !== null,
      languages: LANGUAGE_CHOICES,
      path: request.path,
    };
  }

  /** The language of a page's answer that is not a page (the run page's live updates). */
  localeOf(request: Request) {
    return localeOf(request, this.config.uiLanguage);
  }

  /** A message for the next page (post/redirect/get), kept in a short-lived cookie. */
  flash(response: Response, kind: 'success' | 'info' | 'danger', key: MessageKey, params: Record<string, unknown>): void {
    response.cookie(FLASH_COOKIE, JSON.stringify({ kind, key, params }), { httpOnly: true, sameSite: 'strict', path: '/', maxAge: 60_000 });
  }

  private takeFlash(request: Request, response: Response, locale: ReturnType<typeof localeOf>) {
    const raw = request.cookies?.[FLASH_COOKIE];
    if (!raw) return null;
    response.clearCookie(FLASH_COOKIE, { path: '/' });
    try {
      const { kind, key, params } = JSON.parse(raw) as { kind: string; key: string; params: Record<string, unknown> };
      return isMessageKey(key) && ['success', 'info', 'danger'].includes(kind) ? { kind, text: translate(locale, key, params) } : null;
    } catch {
      return null;
    }
  }
}
