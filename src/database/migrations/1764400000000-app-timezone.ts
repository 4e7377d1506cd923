import { MigrationInterface, QueryRunner } from 'typeorm';

/** Per-app time zone for its schedule; null means SCHEDULER_TIMEZONE. */
export class AppTimezone1764400000000 implements MigrationInterface {
  name = 'AppTimezone1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "apps" ADD COLUMN "timezone" varchar(64)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "apps" DROP COLUMN "timezone"`);
  }
}
