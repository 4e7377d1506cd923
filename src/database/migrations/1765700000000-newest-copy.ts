import { MigrationInterface, QueryRunner } from 'typeorm';

/** The newest stored copy of an app in a destination is one index seek (backup_destination_last_success_timestamp_seconds at boot and per scrape). */
export class NewestCopy1765700000000 implements MigrationInterface {
  name = 'NewestCopy1765700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "IDX_run_destinations_newest" ON "run_destinations" ("appId", "destinationId", "status", "id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_run_destinations_newest"`);
  }
}
