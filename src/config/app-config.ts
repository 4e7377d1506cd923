import type { Locale } from '../common/i18n';
import type { LogLevelName } from './environment';

/**
 * The typed configuration every part of the service reads (never process.env directly).
 * Built once at boot by loadConfig(); injected by its class.
 */
export class AppConfig {
  readonly port!: number;
  /** Address to listen on; null: every interface. */
  readonly host!: string | null;
  /** Express' `trust proxy`: whose X-Forwarded-For gives the client address (login throttling, logs). */
  readonly trustProxy!: boolean | number | string;
  readonly dataDir!: string;
  /** Private (0700) folder for what rclone must spool; emptied at boot. */
  readonly tmpDir!: string;
  readonly databasePath!: string;
  /** Cluster mode (DATABASE_URL): the PostgreSQL database every replica shares; null: embedded, the SQLite file at databasePath. */
  readonly databaseUrl!: string | null;
  /** Cluster mode: a run whose replica has not renewed its lease for this long is failed by another replica. */
  readonly runLeaseMs!: number;
  /** REPLICA_ZONE: this replica runs only the runs of apps of this zone. */
  readonly zone!: string;
  readonly adminUser!: string;
  readonly adminPassword!: string;
  readonly secretKey!: string;
  readonly rclone!: {
    /** Where backups go: an rclone remote ("gdrive:", "webdav:backups") or a local folder. */
    readonly remote: string;
    readonly bin: string;
    readonly configPath?: string;
  };
  readonly backup!: {
    readonly connectTimeoutMs: number;
    readonly idleTimeoutMs: number;
    readonly maxDurationMs: number;
    readonly maxSizeBytes: number | null;
    readonly maxConcurrent: number;
  };
  readonly scheduler!: {
    readonly timezone: string;
    /** Run once at boot for each app whose last scheduled firing was missed while the service was down. */
    readonly catchUpMissed: boolean;
    /** VERIFY_SCHEDULE: when apps that follow it get their newest backup verified (in `timezone`); null: off. */
    readonly verifySchedule: string | null;
  };
  /** What the run history keeps; RunHistoryPruner enforces it. */
  readonly history!: {
    readonly maxAgeDays: number;
    readonly maxRunsPerApp: number;
    readonly logDays: number;
  };
  /** How long shutdown waits for running backups before stopping them. */
  readonly shutdownGraceMs!: number;
  /** Language of the admin pages for everyone; null: each browser's Accept-Language. */
  readonly uiLanguage!: Locale | null;
  readonly metricsPublic!: boolean;
  readonly notify!: {
    /** Receives a JSON POST when a run fails (and when one succeeds, with onSuccess). */
    readonly webhookUrl: string | null;
    readonly onSuccess: boolean;
    /** Base of the links to run pages in notifications, e.g. https://backups.example.com */
    readonly publicUrl: string | null;
  };
  /** Page sessions end after idleMs without a request, and absoluteMs after they were opened in any case. */
  readonly session!: {
    readonly idleMs: number;
    readonly absoluteMs: number;
  };
  /** Single sign-on; null when OIDC_ISSUER is not set. */
  readonly oidc!: {
    readonly issuer: string;
    readonly clientId: string;
    /** null: a public client (PKCE only). */
    readonly clientSecret: string | null;
    readonly roleClaim: string;
    /** Claim values that make a user admin, operator, viewer (the highest match wins). */
    readonly admins: readonly string[];
    readonly operators: readonly string[];
    readonly viewers: readonly string[];
  } | null;
  /** false: database users cannot log in with a password (SSO only); the env admin always can (break-glass). */
  readonly localLogin!: boolean;
  /** Audit log entries older than this are pruned (daily). */
  readonly auditRetentionDays!: number;
  readonly logFormat!: 'text' | 'json';
  readonly logLevel!: LogLevelName;
  /** Passphrase of apps with `encryption: "rclone-crypt"` and none of their own; null: they must have one. */
  readonly defaultEncryptionPassphrase!: string | null;

  constructor(values: AppConfig) {
    Object.assign(this, values);
  }
}
