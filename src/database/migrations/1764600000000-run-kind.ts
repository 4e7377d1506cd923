import { MigrationInterface, QueryRunner } from 'typeorm';

/** Runs are backups, restores or verifications, each about one backup file. */
export class RunKind1764600000000 implements MigrationInterface {
  name = 'RunKind1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" ADD COLUMN "kind" varchar(16) NOT NULL DEFAULT ('backup')`);
    await queryRunner.query(`ALTER TABLE "runs" ADD COLUMN "backupName" varchar(255)`);
    // Runs recorded before this migration: their file name is the last part of the remote path.
    await queryRunner.query(`UPDATE "runs" SET "backupName" = replace("remotePath", rtrim("remotePath", replace("remotePath", '/', '')), '') WHERE "remotePath" IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "backupName"`);
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "kind"`);
  }
}
