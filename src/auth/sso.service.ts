import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import type { Request } from 'express';
import { AppConfig } from '../config/app-config';
import type { Role } from './roles';

/** How long a browser has between leaving for the provider and coming back. */
const PENDING_MS = 10 * 60_000;
/** Sign-ins under way at once; beyond it the oldest is dropped, so requests to start one cannot fill the memory. */
const MAX_PENDING = 1000;
export const SSO_STATE_COOKIE = 'sso-state';

interface Pending {
  verifier: string;
  nonce: string;
  next: string;
  expires: number;
}

export type SsoOutcome =
  | { ok: true; subject: string; name: string; role: Role; next: string }
  | { ok: false; reason: 'refused'; name: string }
  | { ok: false; reason: 'failed'; error: string };

/**
 * Single sign-on with OpenID Connect: authorization code flow with PKCE (openid-client). What a login
 * needs between the two legs (PKCE verifier, nonce, where to go) stays here, in memory, under a random
 * state that the browser holds in a cookie: a callback from another browser, or a forged one, finds nothing.
 */
@Injectable()
export class SsoService {
  private readonly logger = new Logger(SsoService.name);
  private readonly pending = new Map<string, Pending>();
  private discovered?: Promise<oidc.Configuration>;

  constructor(private readonly config: AppConfig) {}

  get enabled(): boolean {
    return this.config.oidc !== null;
  }

  /** Shown on the login page: "Sign in with auth.example.com". */
  get providerName(): string | null {
    return this.config.oidc ? new URL(this.config.oidc.issuer).host : null;
  }

  /** The provider's address to send the browser to, and the state to keep in its cookie. */
  async start(request: Request, next: string): Promise<{ url: string; state: string }> {
    const configuration = await this.configuration();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = randomBytes(24).toString('base64url');
    const nonce = oidc.randomNonce();
    this.forgetExpired();
    if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
    this.pending.set(state, { verifier, nonce, next, expires: Date.now() + PENDING_MS });
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri(request),
      scope: 'openid profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.href, state };
  }

  /** The provider sent the browser back: exchange the code, read the role claim, map it to a role. */
  async finish(request: Request, cookieState: unknown): Promise<SsoOutcome> {
    const state = typeof request.query.state === 'string' ? request.query.state : '';
    const pending = this.pending.get(state);
    this.pending.delete(state);
    if (!pending || cookieState !== state || pending.expires < Date.now()) {
      return { ok: false, reason: 'failed', error: 'this sign-in was not started from this browser, or took more than 10 minutes: start again' };
    }
    try {
      const configuration = await this.configuration();
      const current = new URL(request.originalUrl, this.origin(request));
      const tokens = await oidc.authorizationCodeGrant(configuration, current, { pkceCodeVerifier: pending.verifier, expectedState: state, expectedNonce: pending.nonce });
      const idClaims = tokens.claims()!;
      const { roleClaim } = this.config.oidc!;
      // Many providers put groups only in the userinfo answer, not in the ID token.
      const claims = idClaims[roleClaim] === undefined ? { ...(await oidc.fetchUserInfo(configuration, tokens.access_token, idClaims.sub)), ...idClaims } : idClaims;
      const name = String(claims.preferred_username ?? claims.email ?? claims.sub);
      const role = this.roleOf(claims[roleClaim]);
      if (!role) return { ok: false, reason: 'refused', name };
      return { ok: true, subject: `sso:${idClaims.sub}`, name, role, next: pending.next };
    } catch (error) {
      this.logger.warn(`single sign-on failed: ${(error as Error).message}`);
      return { ok: false, reason: 'failed', error: (error as Error).message };
    }
  }

  /** The highest role any of the claim's values gives; null when none does. */
  roleOf(claim: unknown): Role | null {
    const values = (Array.isArray(claim) ? claim : [claim]).filter((value) => typeof value === 'string' || typeof value === 'number').map(String);
    const { admins, operators, viewers } = this.config.oidc!;
    if (values.some((value) => admins.includes(value))) return 'admin';
    if (values.some((value) => operators.includes(value))) return 'operator';
    if (values.some((value) => viewers.includes(value))) return 'viewer';
    return null;
  }

  /** Discovery once, on the first sign-in (the service starts even when the provider is down); retried after a failure. */
  private configuration(): Promise<oidc.Configuration> {
    if (!this.discovered) {
      const { issuer, clientId, clientSecret } = this.config.oidc!;
      const url = new URL(issuer);
      this.discovered = oidc
        .discovery(url, clientId, undefined, clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(), {
          // A provider on plain http (inside a private network, or the tests' own) is allowed: the operator chose it.
          ...(url.protocol === 'http:' && { execute: [oidc.allowInsecureRequests] }),
        })
        .catch((error: Error) => {
          this.discovered = undefined;
          throw new Error(`the OpenID provider ${issuer} could not be reached: ${error.message}`);
        });
    }
    return this.discovered;
  }

  /** Registered at the provider as the redirect URI: PUBLIC_URL when set, else the address the browser used. */
  private redirectUri(request: Request): string {
    return `${this.origin(request)}/auth/oidc/callback`;
  }

  private origin(request: Request): string {
    return this.config.notify.publicUrl ?? `${request.protocol}://${request.host}`;
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const [state, pending] of this.pending) if (pending.expires < now) this.pending.delete(state);
  }
}
