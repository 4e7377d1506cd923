import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const COPY_STATUSES = ['succeeded', 'failed'] as const;
export type CopyStatus = (typeof COPY_STATUSES)[number];

/** One copy a backup run made (or failed to make) in one of the app's destinations. */
@Entity('run_destinations')
@Index('IDX_run_destinations_copy', ['appId', 'destinationId', 'backupName'])
@Index('IDX_run_destinations_newest', ['appId', 'destinationId', 'status', 'id'])
export class RunDestinationEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('IDX_run_destinations_run')
  @Column({ type: 'integer' })
  runId!: number;

  @Column({ type: 'integer' })
  appId!: number;

  /** Null once the destination was deleted; `destination` keeps its name. */
  @Column({ type: 'integer', nullable: true })
  destinationId!: number | null;

  /** The destination's name when the run made the copy. */
  @Column({ type: 'varchar', length: 63 })
  destination!: string;

  @Column({ type: 'integer' })
  position!: number;

  @Column({ type: 'varchar', length: 16 })
  status!: CopyStatus;

  @Column({ type: 'varchar', length: 255, nullable: true })
  backupName!: string | null;

  @Column({ type: 'text', nullable: true })
  remotePath!: string | null;

  @Column({ type: 'integer', default: 0 })
  bytes!: number;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** The passphrase this copy was encrypted with, sealed; never loaded unless asked for. */
  @Column({ type: 'text', nullable: true, select: false })
  encryptionPassphraseEncrypted!: string | null;

  /** When retention deleted this copy. */
  @Column({ type: Date, nullable: true })
  backupRemovedAt!: Date | null;
}
