import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'skipped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const RUN_TRIGGERS = ['manual', 'schedule'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];
export const RUN_KINDS = ['backup', 'restore', 'verify'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** One backup attempt of one app, kept after the app is deleted. */
@Entity('runs')
export class RunEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('IDX_runs_appId')
  @Column({ type: 'integer' })
  appId!: number;

  @Column({ type: 'varchar', length: 63 })
  appName!: string;

  @Column({ type: 'varchar', length: 16, default: 'backup' })
  kind!: RunKind;

  @Column({ type: 'varchar', length: 16 })
  trigger!: RunTrigger;

  @Index('IDX_runs_status')
  @Column({ type: 'varchar', length: 16 })
  status!: RunStatus;

  @Column({ type: 'datetime' })
  queuedAt!: Date;

  @Column({ type: 'datetime', nullable: true })
  startedAt!: Date | null;

  @Column({ type: 'datetime', nullable: true })
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

  /** Timestamped lines, one per step; appended as the run goes. */
  @Column({ type: 'text', default: '' })
  log!: string;
}
