import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Destinations1765300000001 for PostgreSQL: `destinations` with the built-in `default` (id 1, remote NULL, which
 * is RCLONE_REMOTE), each app's ordered `app_destinations`, and each copy a backup run made in `run_destinations`.
 * Existing apps get `default` with their driveFolderId and every recorded backup becomes a copy there, as in SQLite.
 */
export class PgDestinations1765500000002 implements MigrationInterface {
  name = 'PgDestinations1765500000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "destinations" (
      "id" SERIAL PRIMARY KEY,
      "name" varchar(63) NOT NULL,
      "remote" text,
      "encryption" varchar(16) NOT NULL DEFAULT 'none',
      "encryptionPassphraseEncrypted" text,
      "createdAt" timestamptz NOT NULL,
      "updatedAt" timestamptz NOT NULL,
      CONSTRAINT "UQ_destinations_name" UNIQUE ("name"))`);
    await queryRunner.query(`INSERT INTO "destinations" ("id", "name", "remote", "createdAt", "updatedAt") VALUES (1, 'default', NULL, now(), now())`);
    // An id given by hand does not move the sequence: the next destination would be given 1 again.
    await queryRunner.query(`SELECT setval(pg_get_serial_sequence('"destinations"', 'id'), 1)`);

    await queryRunner.query(`CREATE TABLE "app_destinations" (
      "id" SERIAL PRIMARY KEY,
      "appId" integer NOT NULL REFERENCES "apps" ("id") ON DELETE CASCADE,
      "position" integer NOT NULL,
      "destinationId" integer NOT NULL REFERENCES "destinations" ("id") ON DELETE RESTRICT,
      "folder" varchar(1024) NOT NULL,
      "retention" integer, "keepDaily" integer, "keepWeekly" integer, "keepMonthly" integer, "keepYearly" integer,
      CONSTRAINT "UQ_app_destinations_app_destination" UNIQUE ("appId", "destinationId"))`);
    await queryRunner.query(`CREATE INDEX "IDX_app_destinations_destination" ON "app_destinations" ("destinationId")`);
    await queryRunner.query(`INSERT INTO "app_destinations" ("appId", "position", "destinationId", "folder") SELECT "id", 0, 1, "driveFolderId" FROM "apps"`);

    await queryRunner.query(`CREATE TABLE "run_destinations" (
      "id" SERIAL PRIMARY KEY,
      "runId" integer NOT NULL REFERENCES "runs" ("id") ON DELETE CASCADE,
      "appId" integer NOT NULL,
      "destinationId" integer,
      "destination" varchar(63) NOT NULL,
      "position" integer NOT NULL,
      "status" varchar(16) NOT NULL,
      "backupName" varchar(255),
      "remotePath" text,
      "bytes" bigint NOT NULL DEFAULT 0,
      "error" text,
      "encryptionPassphraseEncrypted" text,
      "backupRemovedAt" timestamptz)`);
    await queryRunner.query(`CREATE INDEX "IDX_run_destinations_run" ON "run_destinations" ("runId")`);
    await queryRunner.query(`CREATE INDEX "IDX_run_destinations_copy" ON "run_destinations" ("appId", "destinationId", "backupName")`);
    await queryRunner.query(`INSERT INTO "run_destinations"
      ("runId", "appId", "destinationId", "destination", "position", "status", "backupName", "remotePath", "bytes", "encryptionPassphraseEncrypted", "backupRemovedAt")
      SELECT "id", "appId", 1, 'default', 0, 'succeeded', "backupName", "remotePath", "bytes", "encryptionPassphraseEncrypted", "backupRemovedAt"
      FROM "runs" WHERE "kind" = 'backup' AND "status" = 'succeeded'`);

    await queryRunner.query(`ALTER TABLE "runs" ADD COLUMN "destinationId" integer`);
    await queryRunner.query(`UPDATE "runs" SET "destinationId" = 1 WHERE "kind" IN ('verify', 'restore')`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "destinationId"`);
    for (const table of ['run_destinations', 'app_destinations', 'destinations']) await queryRunner.query(`DROP TABLE "${table}"`);
  }
}
