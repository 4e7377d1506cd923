import { MigrationInterface, QueryRunner } from 'typeorm';

/** Zones (#15): which replicas run an app, those whose REPLICA_ZONE it is; existing apps are in "default", every replica's default. */
export class AppZone1765600000000 implements MigrationInterface {
  name = 'AppZone1765600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "apps" ADD COLUMN "zone" varchar(40) NOT NULL DEFAULT 'default'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "apps" DROP COLUMN "zone"`);
  }
}
