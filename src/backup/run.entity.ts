import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * `cancelled`: an admin stopped it (POST /api/runs/:id/cancel); neither a failure nor a success. `partial`: a
 * backup stored in some of the app's destinations but not all: a problem that still left a backup.
 */
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'partial', 'failed', 'skipped', 'cancelled'] as const;
/** Statuses of a backup run that left a backup. */
export const STORED_STATUSES: readonly RunStatus[] = ['succeeded', 'partial'];
export type RunStatus = (typeof RUN_STATUSES)[number];
export const RUN_TRIGGERS = ['manual', 'schedule'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];
/** `drill`: a backup restored into the app's scratch instance (drillUrl), then its selftest asked. */
export const RUN_KINDS = ['backup', 'restore', 'verify', 'drill'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** One backup, restore or verification of one app; pruned by age and count (RunHistoryPruner). */
@Entity('runs')
@Index('IDX_runs_app_kind_status', ['appId', 'kind', 'status'])
@Index('IDX_runs_app_trigger', ['appId', 'trigger'])
@Index('IDX_runs_app_kind', ['appId', 'kind'])
@Index('IDX_runs_logged_queuedAt', ['queuedAt'], { where: `"log" != ''` })
export class RunEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('IDX_runs_appId')
  @Column({ type: 'integer' })
  appId!: number;

  @Column({ type: 'varchar', length: 63 })
  appName!: string;

  @Index('IDX_runs_kind')
  @Column({ type: 'varchar', length: 16, default: 'backup' })
  kind!: RunKind;

  @Index('IDX_runs_trigger')
  @Column({ type: 'varchar', length: 16 })
  trigger!: RunTrigger;

  @Index('IDX_runs_status')
  @Column({ type: 'varchar', length: 16 })
  status!: RunStatus;

  @Index('IDX_runs_queuedAt')
  @Column({ type: Date })
  queuedAt!: Date;

  @Column({ type: Date, nullable: true })
  startedAt!: Date | null;

  @Column({ type: Date, nullable: true })
  finishedAt!: Date | null;

  @Column({ type: 'integer', default: 0 })
  bytes!: number;

  @Column({ type: 'varchar', length: 64, nullable: true })
  sha256!: string | null;

  @Column({ type: 'text', nullable: true })
  remotePath!: string | null;

  /** The backup file the run made, restored or verified. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  backupName!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** When retention deleted the backup this run made; until then the run is never pruned (it holds the checksum). */
  @Column({ type: Date, nullable: true })
  backupRemovedAt!: Date | null;

  /**
   * For a backup stored through crypt: the passphrase it was encrypted with, sealed with SECRET_KEY, so
   * that it stays readable whatever later becomes of the app's passphrase. Never loaded unless asked for.
   */
  @Column({ type: 'text', nullable: true, select: false })
  encryptionPassphraseEncrypted!: string | null;

  /**
   * What the app said of itself in its capabilities (`app`: name, version, schemaVersion) when this backup was
   * made: free text, bounded (see ContractClient). Restore compares the schema version with the app's current one.
   */
  @Column({ type: 'varchar', length: 100, nullable: true })
  appReportedName!: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  appVersion!: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  appSchemaVersion!: string | null;

  /** A drill's selftest answer as JSON (`{ok, checks: [{name, ok, detail}]}`, bounded); null: none was read. */
  @Column({ type: 'text', nullable: true })
  selftest!: string | null;
  /** For a verification or restore: the destination it read. */
  @Column({ type: 'integer', nullable: true })
  destinationId!: number | null;

  /** Timestamped lines, one per step; appended as the run goes. */
  @Column({ type: 'text', default: '' })
  log!: string;
}
