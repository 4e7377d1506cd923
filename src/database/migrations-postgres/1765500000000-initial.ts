import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The whole schema of the SQLite migrations up to AuditLog1765200000003, for PostgreSQL, in one step: same tables,
 * columns, defaults and index names. Dates are timestamptz (UTC whatever the server's zone), byte counts bigint
 * (backups pass 2 GiB). Later SQLite schema changes get their own file here, beside this one.
 */
export class PgInitial1765500000000 implements MigrationInterface {
  name = 'PgInitial1765500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "apps" (
      "id" SERIAL PRIMARY KEY,
      "name" varchar(63) NOT NULL,
      "url" varchar(2048) NOT NULL,
      "tokenEncrypted" text NOT NULL,
      "schedule" varchar(128) NOT NULL,
      "driveFolderId" varchar(1024) NOT NULL,
      "retention" integer NOT NULL,
      "enabled" boolean NOT NULL DEFAULT true,
      "createdAt" timestamptz NOT NULL,
      "updatedAt" timestamptz NOT NULL,
      "timezone" varchar(64),
      "pingUrl" varchar(2048),
      "encryption" varchar(16) NOT NULL DEFAULT 'none',
      "encryptionPassphraseEncrypted" text,
      "keepDaily" integer NOT NULL DEFAULT 0,
      "keepWeekly" integer NOT NULL DEFAULT 0,
      "keepMonthly" integer NOT NULL DEFAULT 0,
      "keepYearly" integer NOT NULL DEFAULT 0,
      "verifySchedule" varchar(128) DEFAULT 'default',
      CONSTRAINT "UQ_apps_name" UNIQUE ("name"))`);
    await queryRunner.query(`CREATE TABLE "runs" (
      "id" SERIAL PRIMARY KEY,
      "appId" integer NOT NULL,
      "appName" varchar(63) NOT NULL,
      "trigger" varchar(16) NOT NULL,
      "status" varchar(16) NOT NULL,
      "queuedAt" timestamptz NOT NULL,
      "startedAt" timestamptz,
      "finishedAt" timestamptz,
      "bytes" bigint NOT NULL DEFAULT 0,
      "sha256" varchar(64),
      "remotePath" text,
      "error" text,
      "log" text NOT NULL DEFAULT '',
      "kind" varchar(16) NOT NULL DEFAULT 'backup',
      "backupName" varchar(255),
      "backupRemovedAt" timestamptz,
      "encryptionPassphraseEncrypted" text)`);
    const runIndexes: [string, string][] = [
      ['IDX_runs_appId', '"appId"'], ['IDX_runs_status', '"status"'], ['IDX_runs_app_kind_status', '"appId", "kind", "status"'],
      ['IDX_runs_app_trigger', '"appId", "trigger"'], ['IDX_runs_queuedAt', '"queuedAt"'], ['IDX_runs_kind', '"kind"'],
      ['IDX_runs_trigger', '"trigger"'], ['IDX_runs_app_kind', '"appId", "kind"'], ['IDX_runs_app_backupName', '"appId", "backupName"'],
    ];
    for (const [name, columns] of runIndexes) await queryRunner.query(`CREATE INDEX "${name}" ON "runs" (${columns})`);
    await queryRunner.query(`CREATE INDEX "IDX_runs_logged_queuedAt" ON "runs" ("queuedAt") WHERE "log" != ''`);
    await queryRunner.query(`CREATE TABLE "health_probe" ("id" integer PRIMARY KEY CHECK ("id" = 1), "checkedAt" varchar NOT NULL)`);
    await queryRunner.query(
      `CREATE TABLE "sessions" ("id" varchar(64) PRIMARY KEY NOT NULL, "subject" varchar(300) NOT NULL, "name" varchar(200) NOT NULL,
        "role" varchar(16) NOT NULL, "credential" varchar(64), "createdAt" timestamptz NOT NULL, "lastSeenAt" timestamptz NOT NULL, "expiresAt" timestamptz NOT NULL)`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_sessions_subject" ON "sessions" ("subject")`);
    await queryRunner.query(
      `CREATE TABLE "users" ("id" SERIAL PRIMARY KEY, "username" varchar(64) NOT NULL, "passwordHash" text NOT NULL,
        "role" varchar(16) NOT NULL, "createdAt" timestamptz NOT NULL, "updatedAt" timestamptz NOT NULL, CONSTRAINT "UQ_users_username" UNIQUE ("username"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "api_keys" ("id" SERIAL PRIMARY KEY, "name" varchar(100) NOT NULL, "role" varchar(16) NOT NULL,
        "prefix" varchar(16) NOT NULL, "hash" varchar(64) NOT NULL, "createdAt" timestamptz NOT NULL, "lastUsedAt" timestamptz, "expiresAt" timestamptz,
        CONSTRAINT "UQ_api_keys_name" UNIQUE ("name"), CONSTRAINT "UQ_api_keys_prefix" UNIQUE ("prefix"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "audit_log" ("id" SERIAL PRIMARY KEY, "at" timestamptz NOT NULL, "actor" varchar(200) NOT NULL,
        "actorKind" varchar(16) NOT NULL, "address" varchar(64), "action" varchar(64) NOT NULL, "target" varchar(300), "details" text,
        "outcome" varchar(16) NOT NULL, "status" integer)`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_audit_at" ON "audit_log" ("at")`);
    await queryRunner.query(`CREATE INDEX "IDX_audit_actor" ON "audit_log" ("actor")`);
    await queryRunner.query(`CREATE INDEX "IDX_audit_action" ON "audit_log" ("action")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['audit_log', 'api_keys', 'users', 'sessions', 'health_probe', 'runs', 'apps']) await queryRunner.query(`DROP TABLE "${table}"`);
  }
}
