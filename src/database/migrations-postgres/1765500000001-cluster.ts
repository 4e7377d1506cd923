import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What only a cluster needs. `replicas`: each live process and its last heartbeat. `run_leases`: which replica holds
 * each run and until when (renewed by its heartbeat while it runs, then
 * released and kept as the record of which replica ran it; an expired one is failed "replica lost" by a survivor). `cluster_settings`: the key check value that tells a replica with another SECRET_KEY. The partial
 * unique index makes "one unfinished run per app" hold across replicas: a second insert fails, whoever tries it.
 */
export class PgCluster1765500000001 implements MigrationInterface {
  name = 'PgCluster1765500000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "replicas" ("id" varchar(64) PRIMARY KEY, "startedAt" timestamptz NOT NULL, "heartbeatAt" timestamptz NOT NULL, "version" varchar(32) NOT NULL)`,
    );
    await queryRunner.query(
      `CREATE TABLE "run_leases" ("runId" integer PRIMARY KEY, "replicaId" varchar(64) NOT NULL, "expiresAt" timestamptz NOT NULL, "released" boolean NOT NULL DEFAULT false)`,
    );
    // Renewals touch a replica's leases still held: few rows, whatever the history.
    await queryRunner.query(`CREATE INDEX "IDX_run_leases_held" ON "run_leases" ("replicaId") WHERE NOT "released"`);
    await queryRunner.query(`CREATE TABLE "cluster_settings" ("key" varchar(64) PRIMARY KEY, "value" text NOT NULL)`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_runs_one_unfinished_per_app" ON "runs" ("appId") WHERE "status" IN ('queued', 'running')`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "UQ_runs_one_unfinished_per_app"`);
    for (const table of ['cluster_settings', 'run_leases', 'replicas']) await queryRunner.query(`DROP TABLE "${table}"`);
  }
}
