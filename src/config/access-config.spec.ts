import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidConfigurationError } from './environment';
import { loadConfig } from './load-config';

const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'orquestador-access-')), ...env }, null).config;
const problemsOf = (env: Record<string, string>): string[] => {
  try {
    load(env);
  } catch (error) {
    if (error instanceof InvalidConfigurationError) return error.problems;
    throw error;
  }
  throw new Error('accepted');
};

const SSO = { OIDC_ISSUER: 'https://auth.example.com/realms/main', OIDC_CLIENT_ID: 'orquestador', OIDC_CLIENT_SECRET: 'client-secret-value', OIDC_ADMINS: 'ops-admins' };

describe('access configuration (issue 16)', () => {
  it('defaults: local login on, no SSO, sessions 60 min idle / 12 h, audit kept 365 days', () => {
    expect(load({})).toMatchObject({ localLogin: true, oidc: null, session: { idleMs: 3_600_000, absoluteMs: 43_200_000 }, auditRetentionDays: 365 });
  });

  it('reads SSO, splitting the claim value lists', () => {
    expect(load({ ...SSO, OIDC_OPERATORS: ' ci , deployers ', OIDC_ROLE_CLAIM: 'roles', LOCAL_LOGIN: 'false' })).toMatchObject({
      localLogin: false,
      oidc: { issuer: SSO.OIDC_ISSUER, clientId: 'orquestador', clientSecret: 'client-secret-value', roleClaim: 'roles', admins: ['ops-admins'], operators: ['ci', 'deployers'], viewers: [] },
    });
  });

  it('refuses a half-configured SSO at boot, naming each variable, never echoing the client secret', () => {
    expect(problemsOf({ OIDC_ISSUER: SSO.OIDC_ISSUER, OIDC_ADMINS: 'x' })).toEqual([expect.stringMatching(/^OIDC_CLIENT_ID: /)]);
    expect(problemsOf({ OIDC_ISSUER: SSO.OIDC_ISSUER, OIDC_CLIENT_ID: 'x' })).toEqual([expect.stringMatching(/^OIDC_ADMINS, OIDC_OPERATORS, OIDC_VIEWERS: /)]);
    expect(problemsOf({ OIDC_CLIENT_ID: 'x', OIDC_CLIENT_SECRET: 'top-secret-value' })).toEqual([expect.stringMatching(/^OIDC_ISSUER: must be set when OIDC_CLIENT_ID, OIDC_CLIENT_SECRET are set/)]);
    expect(problemsOf({ LOCAL_LOGIN: 'false' })).toEqual([expect.stringMatching(/^LOCAL_LOGIN: can be false only with single sign-on/)]);
    const bad = problemsOf({ ...SSO, OIDC_ISSUER: 'auth.example.com', OIDC_CLIENT_SECRET: 'x'.repeat(2000), LOCAL_LOGIN: 'no', AUDIT_RETENTION_DAYS: '0' });
    expect(bad.map((problem) => problem.split(':')[0]).sort()).toEqual(['AUDIT_RETENTION_DAYS', 'LOCAL_LOGIN', 'OIDC_CLIENT_SECRET', 'OIDC_ISSUER']);
    expect(bad.join()).not.toContain('x'.repeat(50));
  });
});
