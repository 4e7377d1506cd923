import { isIP } from 'node:net';
import { english, Locale, LOCALES } from '../common/i18n';
import { plainToInstance, Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsIP,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsTimeZone,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  Validate,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
  validateSync,
} from 'class-validator';
import { cronProblem, ZONE_PATTERN } from '../apps/app.validators';
import { reasonsOf } from '../common/validation.pipe';
import { parseByteSize } from './byte-size';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

@ValidatorConstraint({ name: 'byteSize' })
class ByteSizeConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && parseByteSize(value) !== null;
  }
  defaultMessage(): string {
    return 'must be a positive size in bytes or with a unit, e.g. 1073741824, 50GB or 20GiB';
  }
}

/** Express' `trust proxy` values: a boolean, a hop count, or addresses, subnets and proxy-addr's names. */
@ValidatorConstraint({ name: 'trustProxy' })
class TrustProxyConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'string') return false;
    if (/^(true|false|\d{1,2})$/.test(value)) return true;
    return value.split(',').every((item) => {
      const [address, prefix, ...rest] = item.trim().split('/');
      if (rest.length > 0) return false;
      if (['loopback', 'linklocal', 'uniquelocal'].includes(address)) return prefix === undefined;
      const family = isIP(address);
      return family !== 0 && (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)));
    });
  }
  defaultMessage(): string {
    return 'must be false, true, the number of proxies in front (e.g. 1), or comma-separated proxy addresses or subnets (10.0.0.0/8, loopback)';
  }
}

/** A cron expression the scheduler accepts and that fires in SCHEDULER_TIMEZONE (same rules as an app's schedule). */
@ValidatorConstraint({ name: 'cronSchedule' })
class CronScheduleConstraint implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    return typeof value === 'string' && this.problem(value, args) === null;
  }
  defaultMessage(args: ValidationArguments): string {
    return this.problem(String(args.value), args) ?? '';
  }
  private problem(value: string, args: ValidationArguments): string | null {
    const zone = (args.object as Environment).SCHEDULER_TIMEZONE;
    // A bad zone is reported on SCHEDULER_TIMEZONE itself; the expression is then judged in UTC.
    return cronProblem(value, isValidTimeZone(zone) ? zone : 'UTC');
  }
}

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Every variable the service reads; README and .env.example document each one. */
export const ENVIRONMENT_VARIABLES = [
  'PORT', 'HOST', 'TRUST_PROXY', 'DATA_DIR', 'DATABASE_PATH', 'DATABASE_URL', 'RUN_LEASE_S', 'REPLICA_ZONE', 'ADMIN_USER', 'ADMIN_PASSWORD', 'SECRET_KEY', 'RCLONE_REMOTE',
  'RCLONE_BIN', 'RCLONE_CONFIG', 'BACKUP_CONNECT_TIMEOUT_S', 'BACKUP_IDLE_TIMEOUT_S',
  'BACKUP_MAX_DURATION_S', 'MAX_BACKUP_SIZE', 'MAX_CONCURRENT_BACKUPS', 'SCHEDULER_TIMEZONE', 'SHUTDOWN_GRACE_S',
  'CATCH_UP_MISSED', 'VERIFY_SCHEDULE', 'RUN_HISTORY_DAYS', 'RUN_HISTORY_MAX', 'RUN_LOG_DAYS', 'UI_LANGUAGE', 'METRICS_PUBLIC', 'NOTIFY_WEBHOOK_URL', 'NOTIFY_ON_SUCCESS', 'PUBLIC_URL',
  'LOG_FORMAT', 'LOG_LEVEL', 'DEFAULT_ENCRYPTION_PASSPHRASE', 'SESSION_IDLE_MINUTES', 'SESSION_MAX_HOURS', 'AUDIT_RETENTION_DAYS',
  'OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_ROLE_CLAIM', 'OIDC_ADMINS', 'OIDC_OPERATORS', 'OIDC_VIEWERS', 'LOCAL_LOGIN',
] as const;

/** Secrets are checked like any variable but their values are never echoed in errors. */
const SECRET_VARIABLES = new Set(['DATABASE_URL', 'ADMIN_PASSWORD', 'SECRET_KEY', 'DEFAULT_ENCRYPTION_PASSPHRASE', 'OIDC_CLIENT_SECRET']);

/** The process environment as the service accepts it; defaults are the embedded ones. */
export class Environment {
  @Max(65535) @Min(1) @IsInt() @Type(() => Number)
  PORT = 8080;

  @IsOptional() @IsIP(undefined, { message: 'must be an IP address to listen on, e.g. 127.0.0.1, 0.0.0.0 or ::' })
  HOST?: string;

  @Validate(TrustProxyConstraint)
  TRUST_PROXY = 'false';

  @IsString() @IsNotEmpty()
  DATA_DIR = './data';

  @IsOptional() @IsString() @IsNotEmpty()
  DATABASE_PATH?: string;

  /** Set: cluster mode, the state in this PostgreSQL database and runs queued in pg-boss; unset: the SQLite file. */
  @IsOptional() @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a PostgreSQL URL such as postgres://user:password@host:5432/orquestador' })
  DATABASE_URL?: string;

  /** Cluster mode: how long a run outlives its replica's last heartbeat before a surviving replica fails it ("replica lost"). */
  @Max(3600) @Min(4) @IsInt() @Type(() => Number)
  RUN_LEASE_S = 60;

  /** Which apps this replica runs: those whose `zone` is this one (a zone is typically one Docker host and its network). */
  @Matches(ZONE_PATTERN, { message: english('invalid.zone') })
  REPLICA_ZONE = 'default';

  @Matches(/^[^:\s]{1,64}$/, { message: 'must be 1-64 characters without spaces or ":"' })
  ADMIN_USER = 'admin';

  @MaxLength(256) @MinLength(8) @IsString() @IsOptional()
  ADMIN_PASSWORD?: string;

  @MinLength(16) @IsString() @IsOptional()
  SECRET_KEY?: string;

  @IsOptional() @IsString() @IsNotEmpty()
  RCLONE_REMOTE?: string;

  @IsString() @IsNotEmpty()
  RCLONE_BIN = 'rclone';

  @IsOptional() @IsString() @IsNotEmpty()
  RCLONE_CONFIG?: string;

  @Max(3600) @Min(1) @IsInt() @Type(() => Number)
  BACKUP_CONNECT_TIMEOUT_S = 30;

  @Max(86400) @Min(1) @IsInt() @Type(() => Number)
  BACKUP_IDLE_TIMEOUT_S = 300;

  @Max(604800) @Min(1) @IsInt() @Type(() => Number)
  BACKUP_MAX_DURATION_S = 21600;

  @IsOptional() @Validate(ByteSizeConstraint)
  MAX_BACKUP_SIZE?: string;

  @Max(64) @Min(1) @IsInt() @Type(() => Number)
  MAX_CONCURRENT_BACKUPS = 2;

  @IsTimeZone({ message: 'must be an IANA time zone such as UTC or Europe/Madrid' })
  SCHEDULER_TIMEZONE = 'UTC';

  @Max(3600) @Min(0) @IsInt() @Type(() => Number)
  SHUTDOWN_GRACE_S = 30;

  @IsIn(['true', 'false'], { message: 'must be true or false' })
  CATCH_UP_MISSED: 'true' | 'false' = 'false';

  /** Unset or empty: no scheduled verification (apps with a verifySchedule of their own still have it). */
  @IsOptional() @Validate(CronScheduleConstraint)
  VERIFY_SCHEDULE?: string;

  @Max(36500) @Min(1) @IsInt() @Type(() => Number)
  RUN_HISTORY_DAYS = 400;

  @Max(1_000_000) @Min(1) @IsInt() @Type(() => Number)
  RUN_HISTORY_MAX = 1000;

  @Max(36500) @Min(1) @IsInt() @Type(() => Number)
  RUN_LOG_DAYS = 90;

  @IsOptional() @IsIn(LOCALES, { message: `must be one of ${LOCALES.join(', ')}` })
  UI_LANGUAGE?: Locale;

  @IsIn(['true', 'false'], { message: 'must be true or false' })
  METRICS_PUBLIC: 'true' | 'false' = 'false';

  @IsOptional() @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }, { message: 'must be an http:// or https:// URL' })
  NOTIFY_WEBHOOK_URL?: string;

  @IsIn(['true', 'false'], { message: 'must be true or false' })
  NOTIFY_ON_SUCCESS: 'true' | 'false' = 'false';

  @IsOptional() @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }, { message: 'must be an http:// or https:// URL' })
  PUBLIC_URL?: string;

  @IsIn(['text', 'json'], { message: 'must be text or json' })
  LOG_FORMAT: 'text' | 'json' = 'text';

  @IsIn(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevelName = 'log';

  @MaxLength(1024) @IsString() @IsOptional()
  DEFAULT_ENCRYPTION_PASSPHRASE?: string;

  @Max(10080) @Min(1) @IsInt() @Type(() => Number)
  SESSION_IDLE_MINUTES = 60;

  @Max(8760) @Min(1) @IsInt() @Type(() => Number)
  SESSION_MAX_HOURS = 12;

  @Max(36500) @Min(1) @IsInt() @Type(() => Number)
  AUDIT_RETENTION_DAYS = 365;

  @IsOptional() @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }, { message: 'must be the http(s) URL of the OpenID provider, e.g. https://auth.example.com/realms/main' })
  OIDC_ISSUER?: string;

  @IsOptional() @MaxLength(512) @IsString()
  OIDC_CLIENT_ID?: string;

  @IsOptional() @MaxLength(1024) @IsString()
  OIDC_CLIENT_SECRET?: string;

  @Matches(/^[\w.:/-]{1,100}$/, { message: 'must be a claim name such as groups, roles or email' })
  OIDC_ROLE_CLAIM = 'groups';

  @IsOptional() @MaxLength(4096) @IsString()
  OIDC_ADMINS?: string;

  @IsOptional() @MaxLength(4096) @IsString()
  OIDC_OPERATORS?: string;

  @IsOptional() @MaxLength(4096) @IsString()
  OIDC_VIEWERS?: string;

  @IsIn(['true', 'false'], { message: 'must be true or false' })
  LOCAL_LOGIN: 'true' | 'false' = 'true';
}

export class InvalidConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Validates every variable at once so that one boot names all the bad ones. */
export function validateEnvironment(variables: Record<string, string | undefined>): Environment {
  // An empty value (`ADMIN_PASSWORD=` in .env) means "use the default", as in most .env tooling.
  const present = Object.fromEntries(
    ENVIRONMENT_VARIABLES.filter((key) => variables[key] !== undefined && variables[key]!.trim() !== '')
      .map((key) => [key, variables[key]!.trim()]),
  );
  const environment = plainToInstance(Environment, present);
  // Type checks sit nearest each field: with stopAtFirstError they are the reason reported first.
  const errors = validateSync(environment, { forbidUnknownValues: false, stopAtFirstError: true });
  if (errors.length > 0) {
    throw new InvalidConfigurationError(
      errors.map((error) => {
        const reasons = reasonsOf(error).join('; ');
        const shown = SECRET_VARIABLES.has(error.property) ? '' : ` (got "${present[error.property]}")`;
        return `${error.property}: ${reasons}${shown}`;
      }),
    );
  }
  return environment;
}
