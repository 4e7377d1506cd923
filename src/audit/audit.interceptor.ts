import { CallHandler, ExecutionContext, HttpException, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { catchError, concatMap, from, Observable, throwError } from 'rxjs';
import { DomainError } from '../common/errors';
import { AuditService } from './audit.service';
import { AUDITED, AuditedAction, failureNoted, targetOf } from './audited.decorator';

/** The status the error filter will answer with, close enough for the log (domain errors are 4xx/5xx, the rest 500). */
function statusOf(error: unknown): number {
  if (error instanceof HttpException) return error.getStatus();
  if (error instanceof DomainError) return { not_found: 404, conflict: 409, invalid_input: 400, unavailable: 502, shutting_down: 503 }[error.code] ?? 500;
  return 500;
}

/** Records the routes marked @Audited() once they have answered, whatever the answer. */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const audited = this.reflector.get<AuditedAction | undefined>(AUDITED, context.getHandler());
    if (!audited) return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    // Awaited before the answer goes out, so that whoever got the answer finds the entry: on PostgreSQL the write
    // is a network round trip that the answer would otherwise overtake. record() never throws.
    const record = (outcome: 'success' | 'failure', status: number, result?: unknown, error?: string) =>
      this.audit.recordRequest(request, {
        action: audited.action,
        target: targetOf(audited, request, result),
        details: { ...paramsBesideId(request), ...(isEmpty(request.body) ? {} : { fields: request.body }), ...(error ? { error } : {}) },
        outcome,
        status,
      });
    return next.handle().pipe(
      concatMap(async (result) => {
        const failure = failureNoted(request);
        const status = response.statusCode;
        await record(failure || status >= 400 ? 'failure' : 'success', status, result, failure);
        return result;
      }),
      catchError((error: unknown) =>
        from(record('failure', statusOf(error), undefined, error instanceof Error ? error.message : String(error))).pipe(concatMap(() => throwError(() => error))),
      ),
    );
  }
}

/** Path parameters other than the target's id (a backup's name, for one). */
function paramsBesideId(request: Request): Record<string, unknown> {
  const { id: _id, ...rest } = request.params ?? {};
  return rest;
}

const isEmpty = (body: unknown) => body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0);
