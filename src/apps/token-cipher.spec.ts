import { describe, expect, it } from 'vitest';
import { TokenCipher } from './token-cipher';

describe('TokenCipher', () => {
  const cipher = new TokenCipher('a-secret-key-of-enough-length');

  it('round-trips, with a fresh IV each time and no plaintext in the stored form', () => {
    const first = cipher.encrypt('bearer-token-123');
    const second = cipher.encrypt('bearer-token-123');
    expect(first).not.toBe(second);
    expect(first).not.toContain('bearer-token-123');
    expect(first).toMatch(/^v1\./);
    expect(cipher.decrypt(first)).toBe('bearer-token-123');
  });

  it('refuses a tampered ciphertext and a different key', () => {
    const stored = cipher.encrypt('bearer-token-123');
    const parts = stored.split('.');
    parts[3] = Buffer.from('x' + Buffer.from(parts[3], 'base64url').toString('latin1').slice(1), 'latin1').toString('base64url');
    expect(() => cipher.decrypt(parts.join('.'))).toThrow(/cannot be decrypted/);
    expect(() => new TokenCipher('another-secret-key-entirely').decrypt(stored)).toThrow(/SECRET_KEY changed/);
  });
});
