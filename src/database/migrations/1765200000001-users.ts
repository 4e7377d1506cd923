import { MigrationInterface, QueryRunner } from 'typeorm';

/** Users with a role (issue 16); the env admin is not one of them, it lives in the environment. */
export class Users1765200000001 implements MigrationInterface {
  name = 'Users1765200000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "users" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "username" varchar(64) NOT NULL, "passwordHash" text NOT NULL,
        "role" varchar(16) NOT NULL, "createdAt" datetime NOT NULL, "updatedAt" datetime NOT NULL, CONSTRAINT "UQ_users_username" UNIQUE ("username"))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "users"`);
  }
}
