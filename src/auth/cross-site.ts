import type { NextFunction, Request, Response } from 'express';
import { errorBody } from '../common/error.filter';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Browsers send cookies (the session, SameSite=Lax: also to sibling ports of this host) and cached
 * basic-auth credentials with requests to this service, including a form that a page on another site
 * submits: without this, such a form could start runs or delete apps.
 * Every request but GET/HEAD/OPTIONS that a browser marks as coming from another origin is refused
 * before anything reads it. The rule is the one of Go's http.CrossOriginProtection: trust
 * Sec-Fetch-Site when the browser sends it (every current browser does); otherwise compare Origin
 * with the host the request was sent to (or PUBLIC_URL); a request with neither header is not from a
 * web page (curl, scripts) and passes.
 */
export function refuseCrossSiteWrites(publicUrl: string | null) {
  const publicOrigin = publicUrl ? new URL(publicUrl).origin : null;
  return (request: Request, response: Response, next: NextFunction): void => {
    if (SAFE_METHODS.has(request.method) || !isCrossSite(request, publicOrigin)) return next();
    response
      .status(403)
      .json(errorBody(403, 'refused: this request was sent by a page from another site; if it came from this service behind a proxy that rewrites the host, set PUBLIC_URL'));
  };
}

function isCrossSite(request: Request, publicOrigin: string | null): boolean {
  const fetchSite = request.headers['sec-fetch-site'];
  // "none": typed or bookmarked by the user; "same-site" is another origin too (another port, a sibling subdomain).
  if (fetchSite !== undefined) return fetchSite !== 'same-origin' && fetchSite !== 'none';
  const origin = request.headers.origin;
  if (origin === undefined || origin === publicOrigin) return false;
  try {
    return new URL(origin).host !== request.host;
  } catch {
    return true; // "null" (sandboxed frames, redirects across sites) or garbage: not ours
  }
}
