import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** An API key: only its SHA-256 is kept (a key is 256 random bits, so no slow hash is needed), with a prefix to recognise it. */
@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 100, unique: true })
  name!: string;

  @Column({ type: 'varchar', length: 16 })
  role!: string;

  /** The key's first characters (`ao_1a2b3c4d`): shown in lists and logs, and how a presented key is looked up. */
  @Column({ type: 'varchar', length: 16, unique: true })
  prefix!: string;

  @Column({ type: 'varchar', length: 64 })
  hash!: string;

  @Column({ type: Date })
  createdAt!: Date;

  @Column({ type: Date, nullable: true })
  lastUsedAt!: Date | null;

  @Column({ type: Date, nullable: true })
  expiresAt!: Date | null;
}
