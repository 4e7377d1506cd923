import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Encryption at rest per app (rclone crypt), its write-only passphrase (sealed with SECRET_KEY like the
 * token), and on each backup run the sealed passphrase it was encrypted with: a later change of the app's
 * passphrase, or of DEFAULT_ENCRYPTION_PASSPHRASE, never makes an older backup unreadable.
 */
export class AppEncryption1765000000000 implements MigrationInterface {
  name = 'AppEncryption1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "apps" ADD COLUMN "encryption" varchar(16) NOT NULL DEFAULT ('none')`);
    await queryRunner.query(`ALTER TABLE "apps" ADD COLUMN "encryptionPassphraseEncrypted" text`);
    await queryRunner.query(`ALTER TABLE "runs" ADD COLUMN "encryptionPassphraseEncrypted" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "encryptionPassphraseEncrypted"`);
    await queryRunner.query(`ALTER TABLE "apps" DROP COLUMN "encryptionPassphraseEncrypted"`);
    await queryRunner.query(`ALTER TABLE "apps" DROP COLUMN "encryption"`);
  }
}
