import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { Dialect } from '../database/dialect';


/** package.json sits two folders up from both src/cluster and dist/cluster. */
const VERSION: string = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')).version;

/** A live replica as GET /api/replicas lists it. */
export interface ReplicaInfo {
  id: string;
  /** REPLICA_ZONE: it runs the runs of this zone's apps only. */
  zone: string;
  version: string;
  startedAt: Date;
  heartbeatAt: Date;
  /** Its runs that are queued or running. */
  runs: number;
}

/**
 * Cluster mode: which replica holds each unfinished run, and until when. A run is held from the moment it is
 * queued; this replica renews all its leases every RUN_LEASE_S / 4 for RUN_LEASE_S / 2 (database time, so clocks
 * need not agree), and a survivor fails the runs whose lease ran out (see LostRuns): a replica that dies is noticed
 * within RUN_LEASE_S, a live one misses two renewals in a row before anyone doubts it. Embedded mode holds nothing.
 */
@Injectable()
export class ReplicaLeases implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(ReplicaLeases.name);
  readonly enabled: boolean;
  /** This replica among the others: new at every start (a restarted replica is a new one). */
  readonly id = `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly sql: Dialect;
  private timer?: NodeJS.Timeout;
  private readonly startedAt = new Date();

  constructor(
    private readonly config: AppConfig,
    dataSource: DataSource,
  ) {
    this.enabled = config.databaseUrl !== null;
    this.sql = new Dialect(dataSource);
  }

  /** REPLICA_ZONE: the zone whose apps this replica runs. */
  get zone(): string {
    return this.config.zone;
  }

  /** A replica heard from within a lease's term is live (a live one renews every RUN_LEASE_S / 4), as SQL. */
  private get heardFrom(): string {
    return `replica."heartbeatAt" > now() - interval '${Math.round(this.config.runLeaseMs / 2)} milliseconds'`;
  }

  /** How far ahead a renewal moves a lease, as SQL (PostgreSQL interval). */
  private get term(): string {
    return `now() + interval '${Math.round(this.config.runLeaseMs / 2)} milliseconds'`;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    await this.sql.query(
      `INSERT INTO replicas (id, "startedAt", "heartbeatAt", version, zone) VALUES (?, ?, now(), ?, ?)`,
      [this.id, this.startedAt, VERSION, this.zone],
    );
    this.timer = setInterval(() => void this.renew(), this.config.runLeaseMs / 4);
  }

  /** A stopping replica leaves the list at once (its leases are still renewed while its runs get their grace). */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.enabled) await this.sql.query('DELETE FROM replicas WHERE id = ?', [this.id]).catch(() => undefined);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** The run is this replica's until it ends (or this replica is lost). */
  async hold(runId: number): Promise<void> {
    if (!this.enabled) return;
    await this.sql.query(
      `INSERT INTO run_leases ("runId", "replicaId", "expiresAt") VALUES (?, ?, ${this.term})
       ON CONFLICT ("runId") DO UPDATE SET "replicaId" = excluded."replicaId", "expiresAt" = excluded."expiresAt", released = false`,
      [runId, this.id],
    );
  }

  /** The run has ended: no more renewals; the row stays as the record of which replica ran it. */
  async release(runId: number): Promise<void> {
    if (!this.enabled) return;
    await this.sql.query('UPDATE run_leases SET released = true WHERE "runId" = ?', [runId]).catch((error: Error) => {
      // Harmless: the lease of an ended run is never read to decide anything (only unfinished runs are looked at).
      this.logger.warn(`could not release the lease of run ${runId}: ${error.message}`);
    });
  }

  private async renew(): Promise<void> {
    try {
      await this.sql.query(`UPDATE replicas SET "heartbeatAt" = now() WHERE id = ?`, [this.id]);
      await this.sql.query(`UPDATE run_leases SET "expiresAt" = ${this.term} WHERE "replicaId" = ? AND NOT released`, [this.id]);
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

  /**
   * Replicas heard from within a lease's term (RUN_LEASE_S / 2: a live one renews every RUN_LEASE_S / 4), oldest first:
   * one that drops out has, from then on, its runs failed by the others. Embedded mode: this process, the only one.
   */
  async live(): Promise<ReplicaInfo[]> {
    if (!this.enabled) {
      const [{ runs }] = await this.sql.query<{ runs: number }[]>(`SELECT COUNT(*) AS runs FROM runs WHERE status IN ('queued', 'running')`);
      return [{ id: this.id, zone: this.zone, version: VERSION, startedAt: this.startedAt, heartbeatAt: new Date(), runs: Number(runs) }];
    }
    const rows = await this.sql.query<ReplicaInfo[]>(
      `SELECT replica.id, replica.zone, replica.version, replica."startedAt", replica."heartbeatAt",
         (SELECT COUNT(*) FROM run_leases lease JOIN runs run ON run.id = lease."runId"
          WHERE lease."replicaId" = replica.id AND run.status IN ('queued', 'running')) AS runs
       FROM replicas replica WHERE ${this.heardFrom}
       ORDER BY replica."startedAt", replica.id`,
    );
    return rows.map((row) => ({ ...row, runs: Number(row.runs) }));
  }

  /** Whether a live replica runs this zone's apps (embedded mode: this process's zone only). */
  async serves(zone: string): Promise<boolean> {
    if (zone === this.zone) return true;
    if (!this.enabled) return false;
    return (await this.sql.query<unknown[]>(`SELECT 1 FROM replicas replica WHERE zone = ? AND ${this.heardFrom} LIMIT 1`, [zone])).length > 0;
  }

  /** The zones of enabled apps that no live replica serves, with how many apps each: their runs fail "no replica in zone X". */
  async unservedZones(): Promise<{ zone: string; apps: number }[]> {
    const live = this.enabled ? `SELECT zone FROM replicas replica WHERE ${this.heardFrom}` : 'SELECT ?';
    const rows = await this.sql.query<{ zone: string; apps: number }[]>(
      `SELECT zone, COUNT(*) AS apps FROM apps WHERE enabled AND zone NOT IN (${live}) GROUP BY zone ORDER BY zone`,
      this.enabled ? [] : [this.zone],
    );
    return rows.map((row) => ({ zone: row.zone, apps: Number(row.apps) }));
  }

  /** Which replica ran (or runs) the run; null in embedded mode or for a run queued before cluster mode. */
  async holderOf(runId: number): Promise<string | null> {
    if (!this.enabled) return null;
    const [row] = await this.sql.query<{ replicaId: string }[]>('SELECT "replicaId" FROM run_leases WHERE "runId" = ?', [runId]);
    return row?.replicaId ?? null;
  }

  /** Leases of runs that have ended (released, or failed by another replica), of runs pruned since, and replicas silent for ten leases. */
  async sweep(): Promise<void> {
    await this.sql.query(`UPDATE run_leases SET released = true WHERE NOT released AND "runId" IN (SELECT id FROM runs WHERE status NOT IN ('queued', 'running'))`);
    await this.sql.query(`DELETE FROM run_leases lease WHERE NOT EXISTS (SELECT 1 FROM runs WHERE id = lease."runId")`);
    await this.sql.query(`DELETE FROM replicas WHERE "heartbeatAt" < now() - interval '${this.config.runLeaseMs * 10} milliseconds'`);
  }
}
