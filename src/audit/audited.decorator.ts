import { SetMetadata } from '@nestjs/common';
import type { Request } from 'express';

export const AUDITED = 'audit:action';

export interface AuditedAction {
  action: string;
  /** What the target is (`app`, `user`, `key`); its id comes from the path, or from the created record. */
  targetType?: string;
}

/**
 * Records every call of the route in the audit log: who, from where, the action, its target, the body
 * sent (secrets redacted) and the outcome (success, failure with its status, or denied by role). Put it
 * on every route that changes something and on every sensitive read.
 */
export const Audited = (action: string, targetType?: string) => SetMetadata(AUDITED, { action, targetType } satisfies AuditedAction);

/** `app:3`: the type, and the id from the path or, for a creation, from the created record. */
export function targetOf(audited: AuditedAction, request: Request, result?: unknown): string | null {
  if (!audited.targetType) return null;
  const id = request.params?.id ?? (result as { id?: unknown } | undefined)?.id;
  return id === undefined ? audited.targetType : `${audited.targetType}:${String(id)}`;
}

const FAILURE = Symbol('audit:failure');

/** For handlers that answer a refused form with a redirect (not an error status): the action failed, and why. */
export function noteFailure(request: Request, reason: string): void {
  (request as Request & { [FAILURE]?: string })[FAILURE] = reason;
}

export function failureNoted(request: Request): string | undefined {
  return (request as Request & { [FAILURE]?: string })[FAILURE];
}
