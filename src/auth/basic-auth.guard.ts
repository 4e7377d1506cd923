import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { BasicAuthService } from './basic-auth.service';
import { IS_PUBLIC } from './public.decorator';

@Injectable()
export class BasicAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: BasicAuthService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const http = context.switchToHttp();
    const refusal = this.auth.refusalFor(http.getRequest<Request>(), http.getResponse<Response>());
    if (refusal) throw refusal;
    return true;
  }
}
