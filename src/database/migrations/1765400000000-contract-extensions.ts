import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Contract v1's optional extensions (#18): the version an app reported in its capabilities, recorded with each
 * backup run; a drill's selftest result on its run; and per app, the scratch instance drills restore into
 * (its URL, its token sealed like the app's, an optional schedule). Every column is nullable: existing apps
 * have no drill and existing runs no reported version.
 */
export class ContractExtensions1765400000000 implements MigrationInterface {
  name = 'ContractExtensions1765400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" ADD COLUMN "appReportedName" varchar(100)`);
    await queryRunner.query(`ALTER TABLE "runs" ADD COLUMN "appVersion" varchar(100)`);
    await queryRunner.query(`ALTER TABLE "runs" ADD COLUMN "appSchemaVersion" varchar(100)`);
    await queryRunner.query(`ALTER TABLE "runs" ADD COLUMN "selftest" text`);
    await queryRunner.query(`ALTER TABLE "apps" ADD COLUMN "drillUrl" varchar(2048)`);
    await queryRunner.query(`ALTER TABLE "apps" ADD COLUMN "drillTokenEncrypted" text`);
    await queryRunner.query(`ALTER TABLE "apps" ADD COLUMN "drillSchedule" varchar(128)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const column of ['drillSchedule', 'drillTokenEncrypted', 'drillUrl']) await queryRunner.query(`ALTER TABLE "apps" DROP COLUMN "${column}"`);
    for (const column of ['selftest', 'appSchemaVersion', 'appVersion', 'appReportedName']) await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "${column}"`);
  }
}
