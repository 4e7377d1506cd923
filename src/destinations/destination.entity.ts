import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { Encryption } from '../apps/app.entity';

/** The built-in destination: RCLONE_REMOTE, as it is at each start (see the Destinations migration). */
export const DEFAULT_DESTINATION_ID = 1;
export const DEFAULT_DESTINATION_NAME = 'default';

/** A named rclone target that apps store copies in. The passphrase is only ever stored sealed (TokenCipher). */
@Entity('destinations')
export class DestinationEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 63, unique: true })
  name!: string;

  /** An rclone remote spec ("gdrive:", "b2:bucket/path", ":webdav,url=…:") or a local folder; null: RCLONE_REMOTE (built-in). */
  @Column({ type: 'text', nullable: true })
  remote!: string | null;

  /** Copies stored here are encrypted by rclone crypt when the app itself does not encrypt. */
  @Column({ type: 'varchar', length: 16, default: 'none' })
  encryption!: Encryption;

  @Column({ type: 'text', nullable: true })
  encryptionPassphraseEncrypted!: string | null;

  @Column({ type: Date })
  createdAt!: Date;

  @Column({ type: Date })
  updatedAt!: Date;
}

/** One of an app's destinations: where in it the app's folder is, and the retention it overrides there (null: the app's). */
@Entity('app_destinations')
export class AppDestinationEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'integer' })
  appId!: number;

  /** 0 is the first destination: the one reads default to, and whose folder driveFolderId mirrors. */
  @Column({ type: 'integer' })
  position!: number;

  @Column({ type: 'integer' })
  destinationId!: number;

  @Column({ type: 'varchar', length: 1024 })
  folder!: string;

  @Column({ type: 'integer', nullable: true }) retention!: number | null;
  @Column({ type: 'integer', nullable: true }) keepDaily!: number | null;
  @Column({ type: 'integer', nullable: true }) keepWeekly!: number | null;
  @Column({ type: 'integer', nullable: true }) keepMonthly!: number | null;
  @Column({ type: 'integer', nullable: true }) keepYearly!: number | null;
}

/** The retention fields a destination may override. */
export const RETENTION_FIELDS = ['retention', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
