import { Body, Controller, Get, Post, Query, Render, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AccessService } from '../auth/access.service';
import { principalOf } from '../auth/principal';
import { Public } from '../auth/public.decorator';
import { RequireRole } from '../auth/roles';
import { SessionsService } from '../auth/sessions.service';
import { SSO_STATE_COOKIE, SsoService } from '../auth/sso.service';
import { AppConfig } from '../config/app-config';
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
    private readonly sso: SsoService,
    private readonly config: AppConfig,
    private readonly context: PageContext,
  ) {}

  /** What the login page shows besides the form: the SSO button, and whether the form is only the break-glass way in. */
  private loginPage(request: Request, response: Response, next: string) {
    return {
      ...this.context.of(request, response),
      next,
      ssoProvider: this.sso.providerName,
      ssoHref: `/auth/oidc/login?${new URLSearchParams({ next })}`,
      breakGlassOnly: !this.config.localLogin,
    };
  }

  @Public()
  @Get('login')
  @Render('login')
  page(@Query('next') next: unknown, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
    return { ...this.loginPage(request, response, safeNext(next)), username: '' };
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
    const status = refusal.getStatus();
    const error = status === 429 ? 'login.throttled' : 'login.failed';
    if (status === 429) response.set(refusal.headers);
    response.status(status).render('login', { ...this.loginPage(request, response, safeNext(body.next)), username, error, retryAfter: refusal.headers['Retry-After'] });
  }

  /** "Sign in with …": off to the provider, with the state in a cookie that only this browser sends back. */
  @Public()
  @Get('auth/oidc/login')
  async ssoStart(@Query('next') next: unknown, @Req() request: Request, @Res() response: Response) {
    if (!this.sso.enabled) return response.redirect(303, '/login');
    const { url, state } = await this.sso.start(request, safeNext(next));
    // Lax: the provider sends the browser back with a top-level GET, which carries Lax cookies.
    response.cookie(SSO_STATE_COOKIE, state, { httpOnly: true, sameSite: 'lax', secure: request.secure, path: '/auth/oidc', maxAge: 10 * 60_000 });
    response.redirect(303, url);
  }

  /** Back from the provider: a session with the role the claims give, or a page saying why not. */
  @Public()
  @Get('auth/oidc/callback')
  async ssoCallback(@Req() request: Request, @Res() response: Response) {
    if (!this.sso.enabled) return response.redirect(303, '/login');
    const outcome = await this.sso.finish(request, request.cookies?.[SSO_STATE_COOKIE]);
    response.clearCookie(SSO_STATE_COOKIE, { path: '/auth/oidc' });
    if (outcome.ok) {
      await this.access.logInWithSso(outcome, request, response);
      return response.redirect(303, outcome.next);
    }
    const error = outcome.reason === 'refused' ? 'sso.refused' : 'sso.failed';
    await this.access.recordSsoFailure(outcome.reason === 'refused' ? outcome.name : 'unknown', outcome.reason === 'refused' ? 'no role for these claims' : outcome.error, request);
    response.status(outcome.reason === 'refused' ? 403 : 400).render('login', {
      ...this.loginPage(request, response, '/'),
      username: '',
      error,
      ssoName: outcome.reason === 'refused' ? outcome.name : '',
      ssoError: outcome.reason === 'failed' ? outcome.error : '',
    });
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
