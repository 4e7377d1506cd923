import { MigrationInterface, QueryRunner } from 'typeorm';

/** One row that the health check rewrites: a database that cannot take a write is not healthy. */
export class HealthProbe1764700000000 implements MigrationInterface {
  name = 'HealthProbe1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "health_probe" ("id" integer PRIMARY KEY CHECK ("id" = 1), "checkedAt" varchar NOT NULL)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "health_probe"`);
  }
}
