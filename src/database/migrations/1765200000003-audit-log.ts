import { MigrationInterface, QueryRunner } from 'typeorm';

/** The audit log (issue 16): who did what, when, from where, and how it ended; pruned after AUDIT_RETENTION_DAYS. */
export class AuditLog1765200000003 implements MigrationInterface {
  name = 'AuditLog1765200000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "audit_log" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "at" datetime NOT NULL, "actor" varchar(200) NOT NULL,
        "actorKind" varchar(16) NOT NULL, "address" varchar(64), "action" varchar(64) NOT NULL, "target" varchar(300), "details" text,
        "outcome" varchar(16) NOT NULL, "status" integer)`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_audit_at" ON "audit_log" ("at")`);
    await queryRunner.query(`CREATE INDEX "IDX_audit_actor" ON "audit_log" ("actor")`);
    await queryRunner.query(`CREATE INDEX "IDX_audit_action" ON "audit_log" ("action")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "audit_log"`);
  }
}
