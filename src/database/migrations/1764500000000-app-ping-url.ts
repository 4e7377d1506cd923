import { MigrationInterface, QueryRunner } from 'typeorm';

/** Optional dead-man switch URL per app (Healthchecks.io style). */
export class AppPingUrl1764500000000 implements MigrationInterface {
  name = 'AppPingUrl1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "apps" ADD COLUMN "pingUrl" varchar(2048)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "apps" DROP COLUMN "pingUrl"`);
  }
}
