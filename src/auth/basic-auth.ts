import { createHash, timingSafeEqual } from 'node:crypto';

export interface BasicCredentials {
  user: string;
  password: string;
}

/** Parses an `Authorization: Basic …` header; null when absent or malformed. */
export function parseBasicAuth(header: string | undefined): BasicCredentials | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Hashing first gives equal-length buffers, so the comparison time says nothing about the secret. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export function credentialsMatch(given: BasicCredentials, user: string, password: string): boolean {
  // Both comparisons always run: a wrong user name takes as long as a wrong password.
  const userOk = sameSecret(given.user, user);
  const passwordOk = sameSecret(given.password, password);
  return userOk && passwordOk;
}
