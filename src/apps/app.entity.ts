import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { DEFAULT_ZONE } from './app.validators';

export const ENCRYPTIONS = ['none', 'rclone-crypt'] as const;
export type Encryption = (typeof ENCRYPTIONS)[number];

/** The value of `verifySchedule` that follows the global VERIFY_SCHEDULE (also what an app created without one gets). */
export const FOLLOW_VERIFY_SCHEDULE = 'default';

/** A registered application. The token and the encryption passphrase are only ever stored encrypted (see TokenCipher). */
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

  /** The N newest backups kept. */
  @Column({ type: 'integer' })
  retention!: number;

  /** Calendar retention (see backup/retention.ts): the newest backup of each of the last N days, ISO weeks, months, years; 0: off. */
  @Column({ type: 'integer', default: 0 })
  keepDaily!: number;

  @Column({ type: 'integer', default: 0 })
  keepWeekly!: number;

  @Column({ type: 'integer', default: 0 })
  keepMonthly!: number;

  @Column({ type: 'integer', default: 0 })
  keepYearly!: number;

  /** When the newest backup is verified: FOLLOW_VERIFY_SCHEDULE (VERIFY_SCHEDULE), a cron of its own, or null (never on a schedule). */
  @Column({ type: 'varchar', length: 128, nullable: true, default: FOLLOW_VERIFY_SCHEDULE })
  verifySchedule!: string | null;

  /** Dead-man switch: pinged at start (/start), on success and on failure (/fail). */
  @Column({ type: 'varchar', length: 2048, nullable: true })
  pingUrl!: string | null;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  /** Which replicas run it: those whose REPLICA_ZONE is this (a zone is one Docker host, the network the app is on). */
  @Column({ type: 'varchar', length: 40, default: DEFAULT_ZONE })
  zone!: string;

  /** How its backups are stored: as sent, or through rclone's crypt backend. */
  @Column({ type: 'varchar', length: 16, default: 'none' })
  encryption!: Encryption;

  /** The app's own passphrase, sealed; null: DEFAULT_ENCRYPTION_PASSPHRASE applies. */
  @Column({ type: 'text', nullable: true })
  encryptionPassphraseEncrypted!: string | null;

  /**
   * Restore drills: a scratch instance of the same app (throw-away data) that backups are restored into, then
   * asked for its selftest. Never the production `url`. Its token is sealed like `tokenEncrypted`.
   */
  @Column({ type: 'varchar', length: 2048, nullable: true })
  drillUrl!: string | null;

  @Column({ type: 'text', nullable: true })
  drillTokenEncrypted!: string | null;

  /** When a drill runs on its own (cron, in the app's time zone); null: only on request. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  drillSchedule!: string | null;

  @Column({ type: Date })
  createdAt!: Date;

  @Column({ type: Date })
  updatedAt!: Date;
}
