import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every hot question about the history is asked per app ("its newest run", "its newest successful
 * backup", "its newest scheduled run") or about the last day: these indexes make each an index lookup
 * (SQLite appends the rowid, so MAX(id) under an equality prefix is one seek), whatever the history's size.
 * `backupRemovedAt` records that retention deleted the run's backup, so pruning knows which runs must stay.
 */
export class RunHistoryIndexes1764800000000 implements MigrationInterface {
  name = 'RunHistoryIndexes1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "IDX_runs_app_kind_status" ON "runs" ("appId", "kind", "status")`);
    await queryRunner.query(`CREATE INDEX "IDX_runs_app_trigger" ON "runs" ("appId", "trigger")`);
    await queryRunner.query(`CREATE INDEX "IDX_runs_queuedAt" ON "runs" ("queuedAt")`);
    // Only runs that still have a log: emptying old logs never walks over the ones already emptied.
    await queryRunner.query(`CREATE INDEX "IDX_runs_logged_queuedAt" ON "runs" ("queuedAt") WHERE "log" != ''`);
    await queryRunner.query(`ALTER TABLE "runs" ADD COLUMN "backupRemovedAt" datetime`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "backupRemovedAt"`);
    await queryRunner.query(`DROP INDEX "IDX_runs_logged_queuedAt"`);
    await queryRunner.query(`DROP INDEX "IDX_runs_queuedAt"`);
    await queryRunner.query(`DROP INDEX "IDX_runs_app_trigger"`);
    await queryRunner.query(`DROP INDEX "IDX_runs_app_kind_status"`);
  }
}
