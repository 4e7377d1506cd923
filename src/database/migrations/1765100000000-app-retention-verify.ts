import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Calendar retention (keepDaily, keepWeekly, keepMonthly, keepYearly; 0: off) and the per-app verification
 * schedule: 'default' follows VERIFY_SCHEDULE, a cron expression is the app's own, NULL opts out. Existing
 * apps keep exactly what they had: their N newest, and the global verification schedule. An index on the runs
 * of one backup file answers "did the newest backup fail its verification?" for every app at once.
 */
export class AppRetentionVerify1765100000000 implements MigrationInterface {
  name = 'AppRetentionVerify1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const rule of ['keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly']) {
      await queryRunner.query(`ALTER TABLE "apps" ADD COLUMN "${rule}" integer NOT NULL DEFAULT (0)`);
    }
    await queryRunner.query(`ALTER TABLE "apps" ADD COLUMN "verifySchedule" varchar(128) DEFAULT ('default')`);
    // Health asks of every app whether its newest backup's latest verification failed: the runs of one file.
    await queryRunner.query(`CREATE INDEX "IDX_runs_app_backupName" ON "runs" ("appId", "backupName")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_runs_app_backupName"`);
    for (const column of ['verifySchedule', 'keepYearly', 'keepMonthly', 'keepWeekly', 'keepDaily']) {
      await queryRunner.query(`ALTER TABLE "apps" DROP COLUMN "${column}"`);
    }
  }
}
