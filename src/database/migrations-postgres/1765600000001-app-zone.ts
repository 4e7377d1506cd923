import { MigrationInterface, QueryRunner } from 'typeorm';

/** AppZone1765600000000 for PostgreSQL: replicas also say which zone they serve. */
export class PgAppZone1765600000001 implements MigrationInterface {
  name = 'PgAppZone1765600000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "apps" ADD COLUMN "zone" varchar(40) NOT NULL DEFAULT 'default'`);
    await queryRunner.query(`ALTER TABLE "replicas" ADD COLUMN "zone" varchar(40) NOT NULL DEFAULT 'default'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "replicas" DROP COLUMN "zone"`);
    await queryRunner.query(`ALTER TABLE "apps" DROP COLUMN "zone"`);
  }
}
