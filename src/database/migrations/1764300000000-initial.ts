import { MigrationInterface, QueryRunner } from 'typeorm';

export class Initial1764300000000 implements MigrationInterface {
  name = 'Initial1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "apps" (
      "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
      "name" varchar(63) NOT NULL,
      "url" varchar(2048) NOT NULL,
      "tokenEncrypted" text NOT NULL,
      "schedule" varchar(128) NOT NULL,
      "driveFolderId" varchar(1024) NOT NULL,
      "retention" integer NOT NULL,
      "enabled" boolean NOT NULL DEFAULT (1),
      "createdAt" datetime NOT NULL,
      "updatedAt" datetime NOT NULL,
      CONSTRAINT "UQ_apps_name" UNIQUE ("name"))`);
    // Runs outlive their app: history stays readable after an app is deleted.
    await queryRunner.query(`CREATE TABLE "runs" (
      "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
      "appId" integer NOT NULL,
      "appName" varchar(63) NOT NULL,
      "trigger" varchar(16) NOT NULL,
      "status" varchar(16) NOT NULL,
      "queuedAt" datetime NOT NULL,
      "startedAt" datetime,
      "finishedAt" datetime,
      "bytes" integer NOT NULL DEFAULT (0),
      "sha256" varchar(64),
      "remotePath" text,
      "error" text,
      "log" text NOT NULL DEFAULT (''))`);
    await queryRunner.query(`CREATE INDEX "IDX_runs_appId" ON "runs" ("appId")`);
    await queryRunner.query(`CREATE INDEX "IDX_runs_status" ON "runs" ("status")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "runs"`);
    await queryRunner.query(`DROP TABLE "apps"`);
  }
}
