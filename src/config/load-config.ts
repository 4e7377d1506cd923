import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { AppConfig } from './app-config';
import { parseByteSize } from './byte-size';
import { Environment, InvalidConfigurationError, validateEnvironment } from './environment';

export interface LoadedConfig {
  config: AppConfig;
  /** Set only on the boot that generated the admin password, so it is shown exactly once. */
  generatedAdminPassword?: string;
}

/**
 * Reads `.env` (when present) under the process environment, which wins, validates every variable and
 * fills the generated secrets kept in DATA_DIR. Throws InvalidConfigurationError naming each bad variable.
 */
export function loadConfig(
  processEnv: Record<string, string | undefined> = process.env,
  envFile: string | null = '.env',
): LoadedConfig {
  const fromFile = envFile && existsSync(envFile) ? parseDotenv(readFileSync(envFile)) : {};
  const env = validateEnvironment({ ...fromFile, ...processEnv });

  const dataDir = resolve(env.DATA_DIR);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  keepPrivate(dataDir);
  const secretKey = env.SECRET_KEY ?? readOrCreateSecret(join(dataDir, 'secret-key')).value;
  const password = env.ADMIN_PASSWORD
    ? { value: env.ADMIN_PASSWORD, created: false }
    : readOrCreateSecret(join(dataDir, 'admin-password'));

  const config = new AppConfig({
    port: env.PORT,
    host: env.HOST ?? null,
    trustProxy: trustProxySetting(env.TRUST_PROXY),
    dataDir,
    tmpDir: join(dataDir, 'tmp'),
    databasePath: resolve(env.DATABASE_PATH ?? join(dataDir, 'orquestador.sqlite')),
    databaseUrl: env.DATABASE_URL ?? null,
    runLeaseMs: env.RUN_LEASE_S * 1000,
    zone: env.REPLICA_ZONE,
    adminUser: env.ADMIN_USER,
    adminPassword: password.value,
    secretKey,
    rclone: {
      remote: env.RCLONE_REMOTE ?? join(dataDir, 'backups'),
      bin: env.RCLONE_BIN,
      configPath: env.RCLONE_CONFIG && (isAbsolute(env.RCLONE_CONFIG) ? env.RCLONE_CONFIG : resolve(env.RCLONE_CONFIG)),
    },
    backup: {
      connectTimeoutMs: env.BACKUP_CONNECT_TIMEOUT_S * 1000,
      idleTimeoutMs: env.BACKUP_IDLE_TIMEOUT_S * 1000,
      maxDurationMs: env.BACKUP_MAX_DURATION_S * 1000,
      maxSizeBytes: env.MAX_BACKUP_SIZE ? parseByteSize(env.MAX_BACKUP_SIZE) : null,
      maxConcurrent: env.MAX_CONCURRENT_BACKUPS,
    },
    scheduler: { timezone: env.SCHEDULER_TIMEZONE, catchUpMissed: env.CATCH_UP_MISSED === 'true', verifySchedule: env.VERIFY_SCHEDULE ?? null },
    history: { maxAgeDays: env.RUN_HISTORY_DAYS, maxRunsPerApp: env.RUN_HISTORY_MAX, logDays: env.RUN_LOG_DAYS },
    shutdownGraceMs: env.SHUTDOWN_GRACE_S * 1000,
    uiLanguage: env.UI_LANGUAGE ?? null,
    metricsPublic: env.METRICS_PUBLIC === 'true',
    notify: {
      webhookUrl: env.NOTIFY_WEBHOOK_URL ?? null,
      onSuccess: env.NOTIFY_ON_SUCCESS === 'true',
      publicUrl: env.PUBLIC_URL?.replace(/\/+$/, '') ?? null,
    },
    session: { idleMs: env.SESSION_IDLE_MINUTES * 60_000, absoluteMs: env.SESSION_MAX_HOURS * 3_600_000 },
    oidc: oidcSettings(env),
    localLogin: env.LOCAL_LOGIN === 'true',
    auditRetentionDays: env.AUDIT_RETENTION_DAYS,
    logFormat: env.LOG_FORMAT,
    logLevel: env.LOG_LEVEL,
    defaultEncryptionPassphrase: env.DEFAULT_ENCRYPTION_PASSPHRASE ?? null,
  });
  return { config, generatedAdminPassword: password.created ? password.value : undefined };
}

/** The SSO variables belong together: a half-configured provider is refused at boot, not at the first login. */
function oidcSettings(env: Environment): AppConfig['oidc'] {
  const list = (value: string | undefined) => (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);
  const [admins, operators, viewers] = [list(env.OIDC_ADMINS), list(env.OIDC_OPERATORS), list(env.OIDC_VIEWERS)];
  const problems: string[] = [];
  if (!env.OIDC_ISSUER) {
    const stray = (['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_ADMINS', 'OIDC_OPERATORS', 'OIDC_VIEWERS'] as const).filter((name) => env[name]);
    if (stray.length > 0) problems.push(`OIDC_ISSUER: must be set when ${stray.join(', ')} ${stray.length > 1 ? 'are' : 'is'} set`);
    if (env.LOCAL_LOGIN === 'false') problems.push('LOCAL_LOGIN: can be false only with single sign-on (OIDC_ISSUER); the env admin would be the only way in');
  } else {
    if (!env.OIDC_CLIENT_ID) problems.push('OIDC_CLIENT_ID: must be set with OIDC_ISSUER');
    if (admins.length + operators.length + viewers.length === 0) {
      problems.push('OIDC_ADMINS, OIDC_OPERATORS, OIDC_VIEWERS: at least one must list claim values, or every SSO user would be refused');
    }
  }
  if (problems.length > 0) throw new InvalidConfigurationError(problems);
  if (!env.OIDC_ISSUER || !env.OIDC_CLIENT_ID) return null;
  return {
    issuer: env.OIDC_ISSUER,
    clientId: env.OIDC_CLIENT_ID,
    clientSecret: env.OIDC_CLIENT_SECRET ?? null,
    roleClaim: env.OIDC_ROLE_CLAIM,
    admins,
    operators,
    viewers,
  };
}

/** DATA_DIR holds the database and the secrets: nobody but its owner may read it. */
function keepPrivate(folder: string): void {
  try {
    chmodSync(folder, 0o700);
  } catch (error) {
    // A folder owned by someone else (a mounted volume) stays as its owner set it; reading it still works.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
  }
}

function trustProxySetting(value: string): boolean | number | string {
  if (value === 'true' || value === 'false') return value === 'true';
  return /^\d+$/.test(value) ? Number(value) : value;
}

function readOrCreateSecret(path: string): { value: string; created: boolean } {
  if (existsSync(path)) return { value: readFileSync(path, 'utf8').trim(), created: false };
  const value = randomBytes(24).toString('base64url');
  // 'wx' fails rather than overwrite a secret another process wrote in the meantime.
  writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
  return { value, created: true };
}
