import { MigrationInterface, QueryRunner } from 'typeorm';

/** ContractExtensions1765400000000 for PostgreSQL: reported app versions and selftests on runs, drill instances on apps. */
export class PgContractExtensions1765500000003 implements MigrationInterface {
  name = 'PgContractExtensions1765500000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" ADD COLUMN "appReportedName" varchar(100), ADD COLUMN "appVersion" varchar(100),
      ADD COLUMN "appSchemaVersion" varchar(100), ADD COLUMN "selftest" text`);
    await queryRunner.query(`ALTER TABLE "apps" ADD COLUMN "drillUrl" varchar(2048), ADD COLUMN "drillTokenEncrypted" text, ADD COLUMN "drillSchedule" varchar(128)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "appReportedName", DROP COLUMN "appVersion", DROP COLUMN "appSchemaVersion", DROP COLUMN "selftest"`);
    await queryRunner.query(`ALTER TABLE "apps" DROP COLUMN "drillUrl", DROP COLUMN "drillTokenEncrypted", DROP COLUMN "drillSchedule"`);
  }
}
