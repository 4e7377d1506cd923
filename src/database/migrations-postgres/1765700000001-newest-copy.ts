import { MigrationInterface, QueryRunner } from 'typeorm';

/** NewestCopy1765700000000 for PostgreSQL. */
export class PgNewestCopy1765700000001 implements MigrationInterface {
  name = 'PgNewestCopy1765700000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "IDX_run_destinations_newest" ON "run_destinations" ("appId", "destinationId", "status", "id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_run_destinations_newest"`);
  }
}
