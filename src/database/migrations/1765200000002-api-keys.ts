import { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys for integrators and CI (issue 16): hashed, with a visible prefix, a role and an optional expiry. */
export class ApiKeys1765200000002 implements MigrationInterface {
  name = 'ApiKeys1765200000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "api_keys" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "name" varchar(100) NOT NULL, "role" varchar(16) NOT NULL,
        "prefix" varchar(16) NOT NULL, "hash" varchar(64) NOT NULL, "createdAt" datetime NOT NULL, "lastUsedAt" datetime, "expiresAt" datetime,
        CONSTRAINT "UQ_api_keys_name" UNIQUE ("name"), CONSTRAINT "UQ_api_keys_prefix" UNIQUE ("prefix"))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "api_keys"`);
  }
}
