import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One recorded action: who, when, from where, what, on what, with which fields (secrets redacted), and how it ended. */
@Entity('audit_log')
export class AuditEntryEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('IDX_audit_at')
  @Column({ type: Date })
  at!: Date;

  /** User name, API key name, `schedule`, or for a failed login the name that was tried. */
  @Index('IDX_audit_actor')
  @Column({ type: 'varchar', length: 200 })
  actor!: string;

  /** env, user, key, sso, schedule, or anonymous (a login that failed). */
  @Column({ type: 'varchar', length: 16 })
  actorKind!: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  address!: string | null;

  @Index('IDX_audit_action')
  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ type: 'varchar', length: 300, nullable: true })
  target!: string | null;

  /** JSON: the fields sent (secrets replaced by "[redacted]") and what else tells the action apart. */
  @Column({ type: 'text', nullable: true })
  details!: string | null;

  /** success, failure (the action was tried and failed) or denied (the role may not). */
  @Column({ type: 'varchar', length: 16 })
  outcome!: string;

  /** The HTTP status answered, when there was a request. */
  @Column({ type: 'integer', nullable: true })
  status!: number | null;
}
