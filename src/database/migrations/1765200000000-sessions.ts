import { MigrationInterface, QueryRunner } from 'typeorm';

/** Server-side page sessions (issue 16): the cookie carries a random id, the table its SHA-256. */
export class Sessions1765200000000 implements MigrationInterface {
  name = 'Sessions1765200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "sessions" ("id" varchar(64) PRIMARY KEY NOT NULL, "subject" varchar(300) NOT NULL, "name" varchar(200) NOT NULL,
        "role" varchar(16) NOT NULL, "credential" varchar(64), "createdAt" datetime NOT NULL, "lastSeenAt" datetime NOT NULL, "expiresAt" datetime NOT NULL)`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_sessions_subject" ON "sessions" ("subject")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "sessions"`);
  }
}
