import { Body, Controller, Get, Post, Query, Render, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AccessService } from '../auth/access.service';
import { principalOf } from '../auth/principal';
import { Public } from '../auth/public.decorator';
import { RequireRole } from '../auth/roles';
import { SessionsService } from '../auth/sessions.service';
import { CsrfGuard } from './csrf';
import { PageContext } from './page-context';
import { Audited } from '../audit/audited.decorator';

/** Where to go after logging in: a path of this site only, never another site ("//evil", "https:…"). */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])/.test(next) ? next : '/';
}

/** The login page, and log out. The session it opens replaces basic auth for the pages. */
@ApiExcludeController()
@Controller()
export class LoginController {
  constructor(
    private readonly access: AccessService,
    private readonly sessions: SessionsService,
    private readonly context: PageContext,
  ) {}

  @Public()
  @Get('login')
  @Render('login')
  page(@Query('next') next: unknown, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
    return { ...this.context.of(request, response), next: safeNext(next), username: '' };
  }

  /** Right: a session and the page asked for. Wrong: the form again with 401 (429 while throttled), the name kept. */
  @Public()
  @Post('login')
  @UseGuards(CsrfGuard)
  async logIn(@Body() body: Record<string, unknown>, @Req() request: Request, @Res() response: Response) {
    const username = typeof body.username === 'string' ? body.username : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const refusal = await this.access.logIn({ user: username, password }, request, response);
    if (!refusal) return response.redirect(303, safeNext(body.next));
    const context = this.context.of(request, response);
    const status = refusal.getStatus();
    const error = status === 429 ? 'login.throttled' : 'login.failed';
    if (status === 429) response.set(refusal.headers);
    response.status(status).render('login', { ...context, next: safeNext(body.next), username, error, retryAfter: refusal.headers['Retry-After'] });
  }

  /** Ends the session on the server: its cookie is worthless from now on, even if a copy survives. */
  @RequireRole('viewer')
  @Audited('logout')
  @Post('logout')
  @UseGuards(CsrfGuard)
  async logOut(@Req() request: Request, @Res() response: Response) {
    await this.sessions.end(principalOf(request)!.sessionId!, request, response);
    response.redirect(303, '/login');
  }
}
