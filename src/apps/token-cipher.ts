import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { english } from '../common/i18n';

const FORMAT = 'v1';

/**
 * AES-256-GCM for app tokens at rest. The key is derived from SECRET_KEY with HKDF, so a copy of the
 * SQLite file alone reveals nothing, and a tampered ciphertext fails to decrypt instead of yielding junk.
 * Stored form: `v1.<iv>.<tag>.<ciphertext>`, each part base64url.
 */
export class TokenCipher {
  private readonly key: Buffer;

  constructor(secretKey: string) {
    this.key = Buffer.from(hkdfSync('sha256', secretKey, 'app-orquestador', 'app-token-encryption', 32));
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [FORMAT, ...[iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url'))].join('.');
  }

  decrypt(stored: string): string {
    const [format, iv, tag, ciphertext] = stored.split('.');
    if (format !== FORMAT || ciphertext === undefined) {
      throw new Error(english('failure.tokenFormat'));
    }
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(english('failure.tokenUndecryptable'));
    }
  }
}
