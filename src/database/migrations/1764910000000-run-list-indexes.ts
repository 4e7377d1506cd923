import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * GET /api/runs and the /runs page filter the whole history by kind or trigger, newest first: with these
 * (SQLite appends the rowid) each filter is an index search that stops after one page. (status) and (appId)
 * had theirs already. (appId, kind) makes "the app's newest backup / verification" one seek for the dashboard.
 */
export class RunListIndexes1764910000000 implements MigrationInterface {
  name = 'RunListIndexes1764910000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "IDX_runs_kind" ON "runs" ("kind")`);
    await queryRunner.query(`CREATE INDEX "IDX_runs_trigger" ON "runs" ("trigger")`);
    await queryRunner.query(`CREATE INDEX "IDX_runs_app_kind" ON "runs" ("appId", "kind")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_runs_app_kind"`);
    await queryRunner.query(`DROP INDEX "IDX_runs_trigger"`);
    await queryRunner.query(`DROP INDEX "IDX_runs_kind"`);
  }
}
