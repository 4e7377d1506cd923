import type { Request, Response } from 'express';
import { InvalidFieldsError } from './errors';
import { english } from './i18n';

/**
 * Keyset pagination shared by every list that grows: a page is the items after (or before) the key of an
 * item already seen, so inserts and deletes elsewhere never shift a page the way an offset would.
 */
export type Direction = 'after' | 'before';

export interface Cursor {
  direction: Direction;
  /** The sort key of the item the page starts after (or ends before): an app's name, a run's id. */
  key: string;
}

export interface Page<T> {
  items: T[];
  /** Cursors of the pages beside this one, or null when there is none. */
  next: string | null;
  prev: string | null;
}

const MARKS: Record<Direction, string> = { after: '>', before: '<' };

/** Opaque to clients (base64url), so that the key's format can change without breaking their scripts. */
export function encodeCursor(direction: Direction, key: string): string {
  return Buffer.from(MARKS[direction] + key, 'utf8').toString('base64url');
}

/** The cursor a client sent back; 400 naming `cursor` for anything this service did not issue. */
export function decodeCursor(raw: string, isKey: (key: string) => boolean = (key) => key.length > 0): Cursor {
  const text = /^[A-Za-z0-9_-]{1,1400}$/.test(raw) ? Buffer.from(raw, 'base64url').toString('utf8') : '';
  const direction = text[0] === '>' ? 'after' : text[0] === '<' ? 'before' : null;
  const key = text.slice(1);
  // Re-encoding must give the same text back: no stray characters, no invalid UTF-8.
  if (!direction || encodeCursor(direction, key) !== raw || !isKey(key)) {
    throw new InvalidFieldsError([{ field: 'cursor', reasons: [english('invalid.cursor')] }]);
  }
  return { direction, key };
}

/**
 * Turns rows read in the cursor's direction (at most limit + 1, the extra one only telling that more exist)
 * into a page in display order, with the cursors of its neighbours. A page reached through a cursor always
 * has a neighbour on the side it came from.
 */
export function toPage<T>(rows: T[], limit: number, cursor: Cursor | null, keyOf: (item: T) => string): Page<T> {
  const more = rows.length > limit;
  const backwards = cursor?.direction === 'before';
  const items = rows.slice(0, limit);
  if (backwards) items.reverse();
  const first = items[0];
  const last = items[items.length - 1];
  const hasNext = backwards ? last !== undefined : more;
  const hasPrev = backwards ? more : cursor !== null && first !== undefined;
  return {
    items,
    next: hasNext ? encodeCursor('after', keyOf(last)) : null,
    prev: hasPrev ? encodeCursor('before', keyOf(first)) : null,
  };
}

/** The URL of a neighbouring page: the request's own path and query, with only the cursor (or `parameter`) replaced. */
export function pageUrl(originalUrl: string, cursor: string, parameter = 'cursor'): string {
  const url = new URL(originalUrl, 'http://local');
  url.searchParams.set(parameter, cursor);
  return `${url.pathname}${url.search}`;
}

/** An RFC 8288 Link header announcing the neighbouring pages, or null on a page that has none. */
export function linkHeader(originalUrl: string, page: Page<unknown>): string | null {
  const links = [
    page.next && `<${pageUrl(originalUrl, page.next)}>; rel="next"`,
    page.prev && `<${pageUrl(originalUrl, page.prev)}>; rel="prev"`,
  ].filter(Boolean);
  return links.length > 0 ? links.join(', ') : null;
}

/** Announces the page's neighbours on the response (Link header) and gives its items: the body stays a plain array. */
export function announcePages<T>(request: Pick<Request, 'originalUrl'>, response: Pick<Response, 'setHeader'>, page: Page<T>): T[] {
  const link = linkHeader(request.originalUrl, page);
  if (link) response.setHeader('Link', link);
  return page.items;
}

/**
 * For a list paged by a plain key parameter (runs: `before=<id>`), where only older pages exist: announces the
 * next one in a Link header and gives the items.
 */
export function announceNext<T>(request: Pick<Request, 'originalUrl'>, response: Pick<Response, 'setHeader'>, items: T[], next: string | null, parameter: string): T[] {
  if (next !== null) response.setHeader('Link', `<${pageUrl(request.originalUrl, next, parameter)}>; rel="next"`);
  return items;
}
