import { Body, Controller, Get, Param, Post, Query, Render, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import { AppsService } from '../apps/apps.service';
import { Public } from '../auth/public.decorator';
import { RequireRole } from '../auth/roles';
import { BackupRunner } from '../backup/backup-runner.service';
import { BackupsService } from '../backup/backups.service';
import { AppIdPipe, RunIdPipe } from '../common/id.pipe';
import { FormValues, submitAppForm } from './app-form';
import { CsrfGuard } from './csrf';
import { translate } from './i18n';
import { PageContext } from './page-context';
import { DashboardQuery, PagesService } from './pages.service';
import { Audited, noteFailure } from '../audit/audited.decorator';

/** The pages: server-rendered, behind a login session, each route with its least role, CSRF-checked posts. */
@ApiExcludeController()
@Controller()
export class PagesController {
  constructor(
    private readonly pages: PagesService,
    private readonly apps: AppsService,
    private readonly runner: BackupRunner,
    private readonly backups: BackupsService,
    private readonly context: PageContext,
  ) {}

  @RequireRole('viewer')
  @Get()
  @Render('dashboard')
  async dashboard(@Query() query: DashboardQuery, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
    return { ...this.context.of(request, response), ...(await this.pages.dashboard(query, request.originalUrl)) };
  }

  /** Browsers ask every site for /favicon.ico, the login page included; without it each page logs a 404. */
  @Public()
  @Get('favicon.ico')
  favicon(@Res() response: Response) {
    response.sendFile(join(process.cwd(), 'public', 'favicon.ico'), { maxAge: '1d' });
  }

  @RequireRole('admin')
  @Get('apps/new')
  @Render('apps/form')
  newApp(@Req() request: Request, @Res({ passthrough: true }) response: Response) {
    return { ...this.context.of(request, response), values: { enabled: true, retention: '7' }, errors: {} };
  }

  @RequireRole('admin')
  @Audited('app.create', 'app')
  @Post('apps')
  @UseGuards(CsrfGuard)
  async create(@Req() request: Request, @Res() response: Response, @Body() body: Record<string, unknown>) {
    const form = await submitAppForm(body, false, (input) => this.apps.create(input as Parameters<AppsService['create']>[0]));
    if (!form.ok) return this.renderForm(request, response, null, form, body);
    this.context.flash(response, 'success', 'flash.created', { name: form.app.name });
    response.redirect(303, `/apps/${form.app.id}`);
  }

  @RequireRole('viewer')
  @Get('apps/:id')
  @Render('apps/show')
  async show(@Param('id', AppIdPipe) id: number, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
    return { ...this.context.of(request, response), ...(await this.pages.appPage(id)) };
  }

  @RequireRole('admin')
  @Get('apps/:id/edit')
  @Render('apps/form')
  async edit(@Param('id', AppIdPipe) id: number, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
    const app = await this.apps.get(id);
    const values: FormValues = { ...app, timezone: app.timezone ?? '', pingUrl: app.pingUrl ?? '', retention: String(app.retention) };
    return { ...this.context.of(request, response), app, values, errors: {} };
  }

  @RequireRole('admin')
  @Audited('app.update', 'app')
  @Post('apps/:id')
  @UseGuards(CsrfGuard)
  async update(@Param('id', AppIdPipe) id: number, @Req() request: Request, @Res() response: Response, @Body() body: Record<string, unknown>) {
    const existing = await this.apps.get(id);
    const form = await submitAppForm(body, true, (input) => this.apps.update(id, input));
    if (!form.ok) return this.renderForm(request, response, existing, form, body);
    this.context.flash(response, 'success', 'flash.updated', { name: form.app.name });
    response.redirect(303, `/apps/${form.app.id}`);
  }

  @RequireRole('admin')
  @Audited('app.delete', 'app')
  @Post('apps/:id/delete')
  @UseGuards(CsrfGuard)
  async remove(@Param('id', AppIdPipe) id: number, @Res() response: Response) {
    const app = await this.apps.remove(id);
    this.context.flash(response, 'success', 'flash.deleted', { name: app.name });
    response.redirect(303, '/');
  }

  @RequireRole('operator')
  @Audited('run.request', 'app')
  @Post('apps/:id/run')
  @UseGuards(CsrfGuard)
  async run(@Param('id', AppIdPipe) id: number, @Res() response: Response) {
    const run = await this.runner.start(id, 'manual');
    this.context.flash(response, 'info', 'flash.runStarted', { name: run.appName });
    response.redirect(303, `/runs/${run.id}`);
  }

  /** Answers on the page the button was on: the app's page says so in its form (`from=app`), the dashboard does not. */
  @RequireRole('operator')
  @Audited('check.request', 'app')
  @Post('apps/:id/check')
  @UseGuards(CsrfGuard)
  async check(@Param('id', AppIdPipe) id: number, @Body() body: Record<string, unknown>, @Res() response: Response) {
    const [app, result] = await Promise.all([this.apps.get(id), this.backups.check(id)]);
    if (result.ok) {
      this.context.flash(response, 'success', 'flash.checkOk', { name: app.name, versions: result.versions.join(', '), type: result.type ?? '—' });
    } else {
      this.context.flash(response, 'danger', 'flash.checkFailed', { name: app.name, error: result.error });
    }
    response.redirect(303, body.from === 'app' ? `/apps/${id}` : '/');
  }

  @RequireRole('operator')
  @Audited('verify.request', 'app')
  @Post('apps/:id/backups/:name/verify')
  @UseGuards(CsrfGuard)
  async verify(@Param('id', AppIdPipe) id: number, @Param('name') name: string, @Res() response: Response) {
    const run = await this.runner.startVerify(id, 'manual', name);
    this.context.flash(response, 'info', 'flash.verifyStarted', { backup: name });
    response.redirect(303, `/runs/${run.id}`);
  }

  /** A restore overwrites the app's data: it starts only when the admin typed the app's name. */
  @RequireRole('admin')
  @Audited('restore.request', 'app')
  @Post('apps/:id/backups/:name/restore')
  @UseGuards(CsrfGuard)
  async restore(@Param('id', AppIdPipe) id: number, @Param('name') name: string, @Body() body: Record<string, unknown>, @Req() request: Request, @Res() response: Response) {
    const app = await this.apps.get(id);
    if (body.confirm !== app.name) {
      noteFailure(request, 'the app name was not typed to confirm');
      this.context.flash(response, 'danger', 'flash.restoreNotConfirmed', { name: app.name });
      return response.redirect(303, `/apps/${id}`);
    }
    const run = await this.runner.startRestore(id, name);
    this.context.flash(response, 'info', 'flash.restoreStarted', { backup: name, name: app.name });
    response.redirect(303, `/runs/${run.id}`);
  }

  @RequireRole('viewer')
  @Get('runs')
  @Render('runs/index')
  async runList(@Query() query: Record<string, unknown>, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
    return { ...this.context.of(request, response), ...(await this.pages.runList(query, request.originalUrl)) };
  }

  @RequireRole('viewer')
  @Get('runs/:id')
  @Render('runs/show')
  async runPage(@Param('id', RunIdPipe) id: number, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
    const context = this.context.of(request, response);
    const page = await this.pages.runPage(id);
    // "… started" is stale once the run has ended (a run that fails at once): its outcome is the news.
    if (page.run.finished && context.flash?.kind === 'info') context.flash = null;
    return { ...context, ...page };
  }

  /**
   * The form again, with what was typed (never the token) and each field's error beside it; a token that was
   * typed is not sent back, and the field says so, or the admin would save without one.
   */
  private renderForm(request: Request, response: Response, app: object | null, form: { values: FormValues; errors: Record<string, string> }, body: Record<string, unknown>) {
    const context = this.context.of(request, response);
    const tokenNote = typeof body.token === 'string' && body.token !== '' ? translate(context.locale, 'form.tokenRetype') : null;
    response.status(400).render('apps/form', { ...context, app, values: form.values, errors: form.errors, invalid: true, tokenNote });
  }
}
