import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Request } from 'express';
import { FindOptionsWhere, LessThan, Repository } from 'typeorm';
import { principalOf } from '../auth/principal';
import { hideSecrets } from '../common/connection-secrets';
import { AuditEntryEntity } from './audit-entry.entity';

export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface AuditRecord {
  actor: string;
  actorKind: 'env' | 'user' | 'key' | 'sso' | 'schedule' | 'anonymous';
  address?: string | null;
  action: string;
  target?: string | null;
  details?: Record<string, unknown> | null;
  outcome: AuditOutcome;
  status?: number | null;
}

/** Field names whose values never reach the log: tokens, passwords, passphrases, keys, secrets. */
const SECRET_FIELD = /pass|secret|token|key|credential|authorization|cookie/i;
/** The pages' CSRF field: noise, not something the actor changed. */
const DROPPED_FIELDS = new Set(['_csrf']);

/** A copy of `value` with every secret field's value replaced by "[redacted]", however deep. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  // A destination's remote may be a connection string with credentials in it.
  if (typeof value === 'string') return hideSecrets(value);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([field]) => !DROPPED_FIELDS.has(field))
      .map(([field, inner]) => [field, SECRET_FIELD.test(field) && inner !== undefined && inner !== '' ? '[redacted]' : redact(inner)]),
  );
}

export const addressOf = (request: Request): string | null => request.ip ?? request.socket?.remoteAddress ?? null;

/** Writes and reads the audit log. Writing never fails the action it records: a failed write is logged instead. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  constructor(@InjectRepository(AuditEntryEntity) private readonly entries: Repository<AuditEntryEntity>) {}

  async record(entry: AuditRecord): Promise<void> {
    try {
      await this.entries.insert({
        at: new Date(),
        actor: entry.actor.slice(0, 200),
        actorKind: entry.actorKind,
        address: entry.address ?? null,
        action: entry.action,
        target: entry.target?.slice(0, 300) ?? null,
        details: entry.details ? JSON.stringify(redact(entry.details)) : null,
        outcome: entry.outcome,
        status: entry.status ?? null,
      });
    } catch (error) {
      this.logger.error(`could not record ${entry.action} by ${entry.actor} in the audit log: ${(error as Error).message}`);
    }
  }

  /** An action asked for over HTTP, by whoever the guard found (anonymous when nobody). */
  recordRequest(request: Request, entry: Omit<AuditRecord, 'actor' | 'actorKind' | 'address'>): Promise<void> {
    const principal = principalOf(request);
    return this.record({
      ...entry,
      actor: principal?.name ?? 'anonymous',
      actorKind: principal?.kind ?? 'anonymous',
      address: addressOf(request),
    });
  }

  /** A run the scheduler asked for (backup or verification of `app`); `error` when it could not start. */
  recordScheduled(action: string, app: { id: number; name: string }, error?: string): Promise<void> {
    return this.record({
      actor: 'schedule',
      actorKind: 'schedule',
      action,
      target: `app:${app.id}`,
      details: { app: app.name, ...(error && { error }) },
      outcome: error === undefined ? 'success' : 'failure',
    });
  }

  /** Newest first; `before` is an entry id (the last one of the previous page). */
  list(query: { limit: number; before?: number; actor?: string; action?: string }): Promise<AuditEntryEntity[]> {
    const where: FindOptionsWhere<AuditEntryEntity> = {};
    if (query.before !== undefined) where.id = LessThan(query.before);
    if (query.actor) where.actor = query.actor;
    if (query.action) where.action = query.action;
    return this.entries.find({ where, order: { id: 'DESC' }, take: query.limit });
  }

  /** Deletes the entries older than `days`; returns how many. */
  async prune(days: number, now = new Date()): Promise<number> {
    const result = await this.entries.delete({ at: LessThan(new Date(now.getTime() - days * 24 * 3600 * 1000)) });
    return result.affected ?? 0;
  }
}
