import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { Locale, localeOf } from '../pages/i18n';
import { DomainError, ErrorCode } from './errors';
import { english, LANGUAGE_CHOICES } from './i18n';

const STATUS_BY_CODE: Record<ErrorCode, HttpStatus> = {
  [ErrorCode.NotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.Conflict]: HttpStatus.CONFLICT,
  [ErrorCode.InvalidInput]: HttpStatus.BAD_REQUEST,
  [ErrorCode.Unavailable]: HttpStatus.BAD_GATEWAY,
  [ErrorCode.ShuttingDown]: HttpStatus.SERVICE_UNAVAILABLE,
};

/** The one error body of the API. `details` lists each bad field on validation errors. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: { field: string; reasons: string[] }[];
}

export function errorBody(statusCode: number, message: string, details?: ErrorBody['details']): ErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, ...(details && { details }) };
}

/** Maps domain errors, Nest's HTTP exceptions and body-parser errors to ErrorBody; anything else is a logged 500. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(ErrorFilter.name);

  constructor(private readonly uiLanguage: Locale | null = null) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const request = host.switchToHttp().getRequest<Request>();
    const body = this.toBody(exception);
    if (exception instanceof HttpException && 'headers' in exception) {
      response.set(exception.headers as Record<string, string>);
    }
    if (request.path.startsWith('/api') || !request.accepts('html')) {
      response.status(body.statusCode).json(body);
      return;
    }
    // A page that needs a login sends the browser to the login page (LoginRequiredException's location).
    if (exception instanceof HttpException && 'location' in exception && typeof exception.location === 'string') {
      response.redirect(303, exception.location);
      return;
    }
    // Pages get their errors as pages, in the same layout and language.
    const locale = localeOf(request, this.uiLanguage);
    response.status(body.statusCode).render('errors/error', { locale, timezone: 'UTC', status: body.statusCode, message: body.message, details: body.details, languages: LANGUAGE_CHOICES, path: request.path });
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof DomainError) return errorBody(STATUS_BY_CODE[exception.code], exception.message, exception.details);
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const payload = exception.getResponse();
      const message = typeof payload === 'string' ? payload : (payload as { message?: unknown }).message;
      return errorBody(status, Array.isArray(message) ? message.join('; ') : String(message ?? exception.message));
    }
    if (isClientHttpError(exception)) return errorBody(exception.status, exception.message);
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return errorBody(HttpStatus.INTERNAL_SERVER_ERROR, english('failure.internal'));
  }
}

/** Errors of Express' body parser (http-errors): malformed JSON, body too large, bad charset. */
function isClientHttpError(error: unknown): error is { status: number; message: string } {
  const candidate = error as { status?: unknown; expose?: unknown };
  return typeof candidate?.status === 'number' && candidate.status >= 400 && candidate.status < 500 && candidate.expose === true;
}
