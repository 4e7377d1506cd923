import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

export const KNOWN_CLIENT_COOKIE = 'known-client';

/**
 * Names the clients that have logged in: a signed id, handed out in a cookie on a successful login.
 * Only the server can sign, and only someone with the password gets one, so a client that shows a
 * valid id has its own failure count, which nobody else's failures can fill.
 */
export class KnownClients {
  private readonly key: Buffer;

  constructor(secretKey: string) {
    this.key = Buffer.from(hkdfSync('sha256', secretKey, 'app-orquestador', 'known-client-cookie', 32));
  }

  issue(): string {
    const id = randomBytes(16).toString('base64url');
    return `${id}.${this.sign(id)}`;
  }

  /** The client's id when this server issued the cookie, otherwise null. */
  idOf(cookie: unknown): string | null {
    if (typeof cookie !== 'string') return null;
    const [id, signature] = cookie.split('.');
    if (!id || !signature) return null;
    const expected = Buffer.from(this.sign(id));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected) ? id : null;
  }

  private sign(id: string): string {
    return createHmac('sha256', this.key).update(id).digest('base64url');
  }
}
