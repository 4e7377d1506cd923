import { describe, expect, it } from 'vitest';
import { appVersionOf, compareSchemaVersions } from './app-version';

describe('compareSchemaVersions', () => {
  it.each([
    ['2026_11_01', '2026_12_01', -1],
    ['2026_12_01', '2026_11_01', 1],
    ['4.10', '4.9', 1],
    ['9', '10', -1],
    ['007', '7', 0],
    ['4.2', '4.2.1', -1],
    ['v3', 'v3', 0],
    ['20261101120000', '20261101115959', 1],
    ['123456789012345678901234567890', '123456789012345678901234567889', 1],
  ])('%s against %s is %d', (a, b, order) => {
    expect(compareSchemaVersions(a, b)).toBe(order);
    expect(compareSchemaVersions(b, a)).toBe(-order || 0);
  });
});

describe('appVersionOf', () => {
  it('keeps the three fields as bounded single-line text, and nothing else', () => {
    expect(appVersionOf({ name: 'billing', version: '4.2.0', schemaVersion: 42, extra: 'x' })).toEqual({ name: 'billing', version: '4.2.0', schemaVersion: '42' });
    expect(appVersionOf({ name: 'x'.repeat(500) })!.name!.length).toBeLessThanOrEqual(100);
    expect(appVersionOf({ version: 'a\nb' })!.version).not.toContain('\n');
  });

  it('is null when absent or empty', () => {
    for (const value of [undefined, null, 'billing', [], {}, { name: '', version: {} }]) expect(appVersionOf(value)).toBeNull();
  });
});
