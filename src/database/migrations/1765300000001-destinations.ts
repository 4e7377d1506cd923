import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Several destinations per app (3-2-1). `destinations` holds the named rclone targets; the built-in one,
 * `default` (id 1, remote NULL), is RCLONE_REMOTE as it is at each start. `app_destinations` lists each app's
 * destinations in order, with its folder there and optional retention overrides (NULL: the app's rule).
 * `run_destinations` records each copy a backup run made. The upgrade keeps everything as it was: every app
 * gets `default` with its driveFolderId, and every backup recorded so far becomes a copy in `default`, so that
 * retention, verification and restore find it; verifications and restores so far read from `default`.
 */
export class Destinations1765300000001 implements MigrationInterface {
  name = 'Destinations1765300000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "destinations" (
      "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
      "name" varchar(63) NOT NULL,
      "remote" text,
      "encryption" varchar(16) NOT NULL DEFAULT ('none'),
      "encryptionPassphraseEncrypted" text,
      "createdAt" datetime NOT NULL,
      "updatedAt" datetime NOT NULL,
      CONSTRAINT "UQ_destinations_name" UNIQUE ("name"))`);
    await queryRunner.query(`INSERT INTO "destinations" ("id", "name", "remote", "createdAt", "updatedAt")
      VALUES (1, 'default', NULL, datetime('now'), datetime('now'))`);

    await queryRunner.query(`CREATE TABLE "app_destinations" (
      "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
      "appId" integer NOT NULL REFERENCES "apps" ("id") ON DELETE CASCADE,
      "position" integer NOT NULL,
      "destinationId" integer NOT NULL REFERENCES "destinations" ("id") ON DELETE RESTRICT,
      "folder" varchar(1024) NOT NULL,
      "retention" integer, "keepDaily" integer, "keepWeekly" integer, "keepMonthly" integer, "keepYearly" integer,
      CONSTRAINT "UQ_app_destinations_app_destination" UNIQUE ("appId", "destinationId"))`);
    await queryRunner.query(`CREATE INDEX "IDX_app_destinations_destination" ON "app_destinations" ("destinationId")`);
    await queryRunner.query(`INSERT INTO "app_destinations" ("appId", "position", "destinationId", "folder") SELECT "id", 0, 1, "driveFolderId" FROM "apps"`);

    await queryRunner.query(`CREATE TABLE "run_destinations" (
      "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
      "runId" integer NOT NULL REFERENCES "runs" ("id") ON DELETE CASCADE,
      "appId" integer NOT NULL,
      "destinationId" integer,
      "destination" varchar(63) NOT NULL,
      "position" integer NOT NULL,
      "status" varchar(16) NOT NULL,
      "backupName" varchar(255),
      "remotePath" text,
      "bytes" integer NOT NULL DEFAULT (0),
      "error" text,
      "encryptionPassphraseEncrypted" text,
      "backupRemovedAt" datetime)`);
    await queryRunner.query(`CREATE INDEX "IDX_run_destinations_run" ON "run_destinations" ("runId")`);
    await queryRunner.query(`CREATE INDEX "IDX_run_destinations_copy" ON "run_destinations" ("appId", "destinationId", "backupName")`);
    await queryRunner.query(`INSERT INTO "run_destinations"
      ("runId", "appId", "destinationId", "destination", "position", "status", "backupName", "remotePath", "bytes", "encryptionPassphraseEncrypted", "backupRemovedAt")
      SELECT "id", "appId", 1, 'default', 0, 'succeeded', "backupName", "remotePath", "bytes", "encryptionPassphraseEncrypted", "backupRemovedAt"
      FROM "runs" WHERE "kind" = 'backup' AND "status" = 'succeeded'`);

    // Which destination a verification or restore read.
    await queryRunner.query(`ALTER TABLE "runs" ADD COLUMN "destinationId" integer`);
    await queryRunner.query(`UPDATE "runs" SET "destinationId" = 1 WHERE "kind" IN ('verify', 'restore')`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "destinationId"`);
    await queryRunner.query(`DROP TABLE "run_destinations"`);
    await queryRunner.query(`DROP TABLE "app_destinations"`);
    await queryRunner.query(`DROP TABLE "destinations"`);
  }
}
