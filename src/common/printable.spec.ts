import { describe, expect, it } from 'vitest';
import { printable } from './printable';

describe('printable', () => {
  it('escapes what could start a new line or fool a terminal', () => {
    expect(printable('x\n2026-01-01T00:00:00.000Z stored\r\t\u001b[31m\u2028', 200)).toBe(
      'x\\n2026-01-01T00:00:00.000Z stored\\r\\t\\u001b[31m\\u2028',
    );
  });

  it('cuts long text and says so', () => {
    expect(printable('y'.repeat(1_000_000), 10)).toBe('yyyyyyyyyy… (cut, 1000000 characters)');
    expect(printable('short', 10)).toBe('short');
  });
});
