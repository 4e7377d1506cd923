import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { AuditService } from '../audit/audit.service';
import { AUDITED, AuditedAction, targetOf } from '../audit/audited.decorator';
import { AccessService } from './access.service';
import { setPrincipal } from './principal';
import { IS_PUBLIC } from './public.decorator';
import { REQUIRED_ROLE, Role, roleAllows } from './roles';

/** The global guard: who is asking (AccessService), then whether their role may use this route. */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly access: AccessService,
    private readonly audit: AuditService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const surface = request.path.startsWith('/api/') ? 'api' : 'page';
    const principal = await this.access.authenticate(request, http.getResponse<Response>(), surface);
    setPrincipal(request, principal);
    const needed = this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, targets);
    // Default deny: a route nobody gave a role is closed to everyone, admins included.
    if (!needed) throw new ForbiddenException('this route declares no role, so it is closed');
    if (!roleAllows(principal.role, needed)) {
      const message = `refused: this needs the ${needed} role; ${principal.name} is ${principal.role}`;
      // An attempt above one's role is worth knowing about: recorded for the audited routes (changes, sensitive reads).
      const audited = this.reflector.get<AuditedAction | undefined>(AUDITED, context.getHandler());
      if (audited) {
        await this.audit.recordRequest(request, { action: audited.action, target: targetOf(audited, request), details: { error: message }, outcome: 'denied', status: 403 });
      }
      throw new ForbiddenException(message);
    }
    return true;
  }
}
