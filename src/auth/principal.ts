import type { Request } from 'express';
import type { Role } from './roles';

/** Who a request acts for, as the guard found out. */
export interface Principal {
  /** How they proved it: the env admin's or a user's password, an API key, or single sign-on. */
  kind: 'env' | 'user' | 'key' | 'sso';
  /** What the audit log names: user name, key name or SSO subject's name. */
  name: string;
  role: Role;
  /** The page session it came with (pages and the API through the browser); null for basic auth and keys. */
  sessionId: string | null;
}

type WithPrincipal = Request & { principal?: Principal };

export function principalOf(request: Request): Principal | null {
  return (request as WithPrincipal).principal ?? null;
}

export function setPrincipal(request: Request, principal: Principal): void {
  (request as WithPrincipal).principal = principal;
}
