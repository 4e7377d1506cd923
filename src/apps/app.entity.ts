import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A registered application. The token is only ever stored encrypted (see TokenCipher). */
@Entity('apps')
export class AppEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 63, unique: true })
  name!: string;

  @Column({ type: 'varchar', length: 2048 })
  url!: string;

  @Column({ type: 'text' })
  tokenEncrypted!: string;

  @Column({ type: 'varchar', length: 128 })
  schedule!: string;

  @Column({ type: 'varchar', length: 1024 })
  driveFolderId!: string;

  /** IANA zone of the schedule; null: SCHEDULER_TIMEZONE. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  timezone!: string | null;

  @Column({ type: 'integer' })
  retention!: number;

  /** Dead-man switch: pinged at start (/start), on success and on failure (/fail). */
  @Column({ type: 'varchar', length: 2048, nullable: true })
  pingUrl!: string | null;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  @Column({ type: 'datetime' })
  createdAt!: Date;

  @Column({ type: 'datetime' })
  updatedAt!: Date;
}
