import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { Dialect } from '../database/dialect';


/**
 * Cluster mode: which replica holds each unfinished run, and until when. A run is held from the moment it is
 * queued; this replica renews all its leases every RUN_LEASE_S / 4 for RUN_LEASE_S / 2 (database time, so clocks
 * need not agree), and a survivor fails the runs whose lease ran out (see LostRuns): a replica that dies is noticed
 * within RUN_LEASE_S, a live one misses two renewals in a row before anyone doubts it. Embedded mode holds nothing.
 */
@Injectable()
export class ReplicaLeases implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReplicaLeases.name);
  readonly enabled: boolean;
  /** This replica among the others: new at every start (a restarted replica is a new one). */
  readonly id = `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly sql: Dialect;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    dataSource: DataSource,
  ) {
    this.enabled = config.databaseUrl !== null;
    this.sql = new Dialect(dataSource);
  }

  /** How far ahead a renewal moves a lease, as SQL (PostgreSQL interval). */
  private get term(): string {
    return `now() + interval '${Math.round(this.config.runLeaseMs / 2)} milliseconds'`;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    await this.sql.query(
      `INSERT INTO replicas (id, "startedAt", "heartbeatAt", version) VALUES (?, now(), now(), ?)`,
      [this.id, process.env.npm_package_version ?? '0.1.0'],
    );
    this.timer = setInterval(() => void this.renew(), this.config.runLeaseMs / 4);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    if (this.enabled) await this.sql.query('DELETE FROM replicas WHERE id = ?', [this.id]).catch(() => undefined);
  }

  /** The run is this replica's until it ends (or this replica is lost). */
  async hold(runId: number): Promise<void> {
    if (!this.enabled) return;
    await this.sql.query(
      `INSERT INTO run_leases ("runId", "replicaId", "expiresAt") VALUES (?, ?, ${this.term})
       ON CONFLICT ("runId") DO UPDATE SET "replicaId" = excluded."replicaId", "expiresAt" = excluded."expiresAt"`,
      [runId, this.id],
    );
  }

  async release(runId: number): Promise<void> {
    if (!this.enabled) return;
    await this.sql.query('DELETE FROM run_leases WHERE "runId" = ?', [runId]).catch((error: Error) => {
      // Harmless: the lease of an ended run is never read (only unfinished runs are looked at) and the reaper removes it.
      this.logger.warn(`could not release the lease of run ${runId}: ${error.message}`);
    });
  }

  private async renew(): Promise<void> {
    try {
      await this.sql.query(`UPDATE replicas SET "heartbeatAt" = now() WHERE id = ?`, [this.id]);
      await this.sql.query(`UPDATE run_leases SET "expiresAt" = ${this.term} WHERE "replicaId" = ?`, [this.id]);
    } catch (error) {
      this.logger.error(`could not renew this replica's run leases: ${(error as Error).message}`);
    }
  }

  /**
   * Unfinished runs whose holder is gone: the lease ran out, or there never was one and the run is older than a
   * lease (it was queued by a replica that died before it could hold it, or came from an embedded install).
   */
  async lapsed(): Promise<number[]> {
    const rows = await this.sql.query<{ id: number }[]>(
      `SELECT run.id FROM runs run LEFT JOIN run_leases lease ON lease."runId" = run.id
       WHERE run.status IN ('queued', 'running')
         AND COALESCE(lease."expiresAt", run."queuedAt" + interval '${this.config.runLeaseMs} milliseconds') < now()`,
    );
    return rows.map((row) => row.id);
  }

  /** Leases of runs that have ended, and replicas silent for ten leases: what nobody will read again. */
  async sweep(): Promise<void> {
    await this.sql.query(`DELETE FROM run_leases WHERE "runId" IN (SELECT id FROM runs WHERE status NOT IN ('queued', 'running'))`);
    await this.sql.query(`DELETE FROM replicas WHERE "heartbeatAt" < now() - interval '${this.config.runLeaseMs * 10} milliseconds'`);
  }
}
