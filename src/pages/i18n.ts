import type { Request } from 'express';
import { isLocale, Locale, LOCALES } from '../common/i18n';

// The catalogue itself is in common/locales (one JSON file per language); pages add how a request picks its language.
export { isMessageKey, LOCALES, translate, translateText } from '../common/i18n';
export type { Locale, MessageKey } from '../common/i18n';

/** UI_LANGUAGE wins; then the language the admin picked (cookie); then the browser's Accept-Language. */
export function localeOf(request: Request, forced: Locale | null): Locale {
  if (forced) return forced;
  const chosen: unknown = request.cookies?.lang;
  if (isLocale(chosen)) return chosen;
  return request.acceptsLanguages(...LOCALES) || 'en';
}
