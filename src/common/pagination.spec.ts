import { describe, expect, it } from 'vitest';
import { InvalidFieldsError } from './errors';
import { decodeCursor, encodeCursor, linkHeader, toPage } from './pagination';

const key = (n: number) => String(n);

describe('cursors', () => {
  it('round-trip any key, and refuse what they did not give out, naming the field', () => {
    for (const value of ['billing', 'ñandú-app', '42']) {
      expect(decodeCursor(encodeCursor('after', value))).toEqual({ direction: 'after', key: value });
      expect(decodeCursor(encodeCursor('before', value))).toEqual({ direction: 'before', key: value });
    }
    const forged = ['', 'x', 'Ymls bGluZw', 'YmlsbGluZw', '=Pmls', Buffer.from([0x3e, 0xff]).toString('base64url'), 'a'.repeat(2000)];
    for (const raw of forged) {
      expect(() => decodeCursor(raw), raw).toThrow(InvalidFieldsError);
      try {
        decodeCursor(raw);
      } catch (error) {
        expect((error as InvalidFieldsError).details).toEqual([{ field: 'cursor', reasons: [expect.any(String)] }]);
      }
    }
    expect(() => decodeCursor(encodeCursor('after', 'abc'), (k) => /^\d+$/.test(k))).toThrow(InvalidFieldsError);
  });
});

describe('toPage', () => {
  it('announces the next page only when more rows exist, and the previous one only after a cursor', () => {
    const first = toPage([1, 2, 3], 2, null, key);
    expect(first.items).toEqual([1, 2]);
    expect(decodeCursor(first.next!)).toEqual({ direction: 'after', key: '2' });
    expect(first.prev).toBeNull();

    const last = toPage([3], 2, { direction: 'after', key: '2' }, key);
    expect(last).toMatchObject({ items: [3], next: null });
    expect(decodeCursor(last.prev!)).toEqual({ direction: 'before', key: '3' });
  });

  it('reverses rows read backwards, and knows whether more lie before them', () => {
    const page = toPage([4, 3, 2], 2, { direction: 'before', key: '5' }, key);
    expect(page.items).toEqual([3, 4]);
    expect(decodeCursor(page.prev!)).toEqual({ direction: 'before', key: '3' });
    expect(decodeCursor(page.next!)).toEqual({ direction: 'after', key: '4' });
    expect(toPage([1], 2, { direction: 'before', key: '2' }, key).prev).toBeNull();
    expect(toPage([], 2, { direction: 'after', key: '9' }, key)).toEqual({ items: [], next: null, prev: null });
  });
});

describe('linkHeader', () => {
  it('keeps every other query parameter and replaces only the cursor', () => {
    const header = linkHeader('/api/apps?limit=2&q=a%20b&cursor=old', { items: [], next: 'NEXT', prev: 'PREV' });
    expect(header).toBe('</api/apps?limit=2&q=a+b&cursor=NEXT>; rel="next", </api/apps?limit=2&q=a+b&cursor=PREV>; rel="prev"');
    expect(linkHeader('/api/apps', { items: [], next: null, prev: null })).toBeNull();
  });
});
