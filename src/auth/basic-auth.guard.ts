import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
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
    const refusal = this.auth.refusalFor(context.switchToHttp().getRequest<Request>());
    if (refusal) throw refusal;
    return true;
  }
}
