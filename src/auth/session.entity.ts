import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A page session. Only the SHA-256 of the cookie's value is stored: a copy of the database opens no session. */
@Entity('sessions')
export class SessionEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  /** `env` (the env admin), `user:<id>` or `sso:<subject>`. */
  @Index('IDX_sessions_subject')
  @Column({ type: 'varchar', length: 300 })
  subject!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  /** The role at sign-in; for a database user the current role is read again on every request. */
  @Column({ type: 'varchar', length: 16 })
  role!: string;

  /**
   * An HMAC of the credential the session was opened with (env password, user's password hash): a
   * changed password no longer matches, which ends every session opened with the old one.
   */
  @Column({ type: 'varchar', length: 64, nullable: true })
  credential!: string | null;

  @Column({ type: Date })
  createdAt!: Date;

  @Column({ type: Date })
  lastSeenAt!: Date;

  /** Absolute end, however active the session is. */
  @Column({ type: Date })
  expiresAt!: Date;
}
