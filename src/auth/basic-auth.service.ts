import { HttpException, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AppConfig } from '../config/app-config';
import { errorBody } from '../common/error.filter';
import { credentialsMatch } from './basic-auth';
import { LoginThrottle } from './login-throttle';

/** A refused login: 401 with the challenge, or 429 while the client is throttled. */
export class AuthRefusedException extends HttpException {
  constructor(
    status: 401 | 429,
    message: string,
    readonly headers: Record<string, string>,
  ) {
    super(errorBody(status, message), status);
  }
}

/** The one credential check, used by the global guard and by the middleware that protects the docs. */
@Injectable()
export class BasicAuthService {
  private readonly throttle = new LoginThrottle();

  constructor(private readonly config: AppConfig) {}

  /** Null when the request carries the admin's credentials, otherwise the refusal to send. */
  refusalFor(request: Request): AuthRefusedException | null {
    const client = request.ip ?? request.socket.remoteAddress ?? 'unknown';
    const retryAfter = this.throttle.retryAfterSeconds(client);
    if (retryAfter > 0) {
      return new AuthRefusedException(429, `too many failed logins; try again in ${retryAfter} s`, {
        'Retry-After': String(retryAfter),
      });
    }
    if (credentialsMatch(request.headers.authorization, this.config.adminUser, this.config.adminPassword)) {
      this.throttle.recordSuccess(client);
      return null;
    }
    if (request.headers.authorization) this.throttle.recordFailure(client);
    return new AuthRefusedException(401, 'authentication required: use the admin user and password', {
      'WWW-Authenticate': 'Basic realm="app-orquestador", charset="UTF-8"',
    });
  }
}
