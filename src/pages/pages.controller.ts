import { Body, Controller, Get, Param, Post, Query, Render, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import type { AppEntity } from '../apps/app.entity';
import { AppsService } from '../apps/apps.service';
import { Public } from '../auth/public.decorator';
import { RequireRole } from '../auth/roles';
import { BackupRunner } from '../backup/backup-runner.service';
import { BackupsService } from '../backup/backups.service';
import { RunNotCancellableError } from '../common/errors';
import { AppIdPipe, RunIdPipe } from '../common/id.pipe';
import { FOLLOW_VERIFY_SCHEDULE } from '../apps/app.entity';
import { DEFAULT_ZONE } from '../apps/app.validators';
import { DestinationRow, destinationRowsOf, FormValues, submitAppForm, VERIFY_OFF } from './app-form';
import { DestinationsService } from '../destinations/destinations.service';
import { RETENTION_FIELDS } from '../destinations/destination.entity';
import { CsrfGuard } from './csrf';
import { MessageKey, translate } from './i18n';
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
    private readonly destinations: DestinationsService,
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
  async newApp(@Req() request: Request, @Res({ passthrough: true }) response: Response) {
    const values: FormValues = { enabled: true, zone: DEFAULT_ZONE, retention: '7', keepDaily: '0', keepWeekly: '0', keepMonthly: '0', keepYearly: '0' };
    return { ...this.context.of(request, response), values, errors: {}, ...(await this.destinationRows(null)) };
  }

  @RequireRole('admin')
  @Audited('app.create', 'app')
  @Post('apps')
  @UseGuards(CsrfGuard)
  async create(@Req() request: Request, @Res() response: Response, @Body() body: Record<string, unknown>) {
    const rows = destinationRowsOf(body, await this.destinationNames());
    const form = await submitAppForm(body, false, (input) => this.apps.create(input as Parameters<AppsService['create']>[0]), rows);
    if (!form.ok) return this.renderForm(request, response, null, form, body, rows);
    this.context.flash(response, 'success', 'flash.created', { name: form.app.name });
    response.redirect(303, `/apps/${form.app.id}`);
  }

  @RequireRole('viewer')
  @Get('apps/:id')
  @Render('apps/show')
  async show(@Param('id', AppIdPipe) id: number, @Query('destination') destination: unknown, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
    return { ...this.context.of(request, response), ...(await this.pages.appPage(id, typeof destination === 'string' ? destination : undefined)) };
  }

  @RequireRole('admin')
  @Get('apps/:id/edit')
  @Render('apps/form')
  async edit(@Param('id', AppIdPipe) id: number, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
    const app = await this.apps.get(id);
    const { name, url, schedule, driveFolderId, enabled, encryption } = app;
    const values: FormValues = {
      name, url, schedule, driveFolderId, enabled, encryption,
      timezone: app.timezone ?? '',
      zone: app.zone,
      pingUrl: app.pingUrl ?? '',
      drillUrl: app.drillUrl ?? '',
      drillSchedule: app.drillSchedule ?? '',
      retention: String(app.retention),
      keepDaily: String(app.keepDaily),
      keepWeekly: String(app.keepWeekly),
      keepMonthly: String(app.keepMonthly),
      keepYearly: String(app.keepYearly),
      verifySchedule: app.verifySchedule === null ? VERIFY_OFF : app.verifySchedule === FOLLOW_VERIFY_SCHEDULE ? '' : app.verifySchedule,
    };
    return { ...this.context.of(request, response), app: formApp(app), values, errors: {}, ...(await this.destinationRows(app.id)) };
  }

  @RequireRole('admin')
  @Audited('app.update', 'app')
  @Post('apps/:id')
  @UseGuards(CsrfGuard)
  async update(@Param('id', AppIdPipe) id: number, @Req() request: Request, @Res() response: Response, @Body() body: Record<string, unknown>) {
    const existing = await this.apps.get(id);
    const rows = destinationRowsOf(body, await this.destinationNames());
    const form = await submitAppForm(body, true, (input) => this.apps.update(id, input), rows);
    if (!form.ok) return this.renderForm(request, response, formApp(existing), form, body, rows);
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
  async verify(@Param('id', AppIdPipe) id: number, @Param('name') name: string, @Body() body: Record<string, unknown>, @Res() response: Response) {
    const run = await this.runner.startVerify(id, 'manual', name, destinationOf(body));
    this.context.flash(response, 'info', 'flash.verifyStarted', { backup: name });
    response.redirect(303, `/runs/${run.id}`);
  }

  @RequireRole('operator')
  @Audited('drill.request', 'app')
  @Post('apps/:id/drill')
  @UseGuards(CsrfGuard)
  async drill(@Param('id', AppIdPipe) id: number, @Res() response: Response) {
    const run = await this.runner.startDrill(id, 'manual');
    this.context.flash(response, 'info', 'flash.drillStarted', { name: run.appName, backup: run.backupName });
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
    const run = await this.runner.startRestore(id, name, { destination: destinationOf(body), force: body.force === 'on' });
    this.context.flash(response, 'info', 'flash.restoreStarted', { backup: name, name: app.name });
    response.redirect(303, `/runs/${run.id}`);
  }

  /** Cancels a queued or running run, then answers on the page the button was on (`from`: app, dashboard), else the run's. */
  @RequireRole('operator')
  @Audited('cancel.request', 'run')
  @Post('runs/:id/cancel')
  @UseGuards(CsrfGuard)
  async cancel(@Param('id', RunIdPipe) id: number, @Body() body: Record<string, unknown>, @Res() response: Response) {
    try {
      const run = await this.runner.cancel(id);
      this.context.flash(response, 'info', 'flash.cancelRequested', { id, name: run.appName });
      response.redirect(303, body.from === 'app' ? `/apps/${run.appId}` : body.from === 'dashboard' ? '/' : `/runs/${id}`);
    } catch (error) {
      if (!(error instanceof RunNotCancellableError)) throw error;
      this.context.flash(response, 'danger', 'flash.cancelRefused', { id });
      response.redirect(303, `/runs/${id}`);
    }
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

  /** What the run page polls while the run is in progress: the API's run, its log in the page's language. */
  @RequireRole('viewer')
  @Get('runs/:id/live')
  async runLive(@Param('id', RunIdPipe) id: number, @Req() request: Request) {
    return this.pages.liveRun(id, this.context.localeOf(request));
  }

  /**
   * The form again, with what was typed (never the token) and each field's error beside it; a token that was
   * typed is not sent back, and the field says so, or the admin would save without one.
   */
  private renderForm(
    request: Request, response: Response, app: object | null, form: { values: FormValues; errors: Record<string, string> }, body: Record<string, unknown>,
    rows: DestinationRow[] | null,
  ) {
    const context = this.context.of(request, response);
    const typed = (field: string, note: MessageKey) => (typeof body[field] === 'string' && body[field] !== '' ? translate(context.locale, note) : null);
    const tokenNote = typed('token', 'form.tokenRetype');
    const drillTokenNote = typed('drillToken', 'form.tokenRetype');
    const passphraseNote = typed('encryptionPassphrase', 'form.passphraseRetype');
    const destinationErrors = Object.entries(form.errors).filter(([field]) => field.startsWith('destinations')).map(([field, reason]) => `${field}: ${reason}`);
    response.status(400).render('apps/form', {
      ...context, app, values: form.values, errors: form.errors, invalid: true, tokenNote, passphraseNote, drillTokenNote,
      destinationRows: rows, destinationOrder: rows?.map((row) => row.id).join(','), destinationErrors,
    });
  }

  private async destinationNames(): Promise<Map<number, string>> {
    return new Map((await this.destinations.list()).map((destination) => [destination.id, destination.name]));
  }

  /** Every destination as a row of the form: the app's own in its order with its folders, then the others, blank. */
  private async destinationRows(appId: number | null) {
    const all = await this.destinations.list();
    const own = appId === null ? [] : (await this.destinations.describe([appId])).get(appId)!;
    const blank = Object.fromEntries(RETENTION_FIELDS.map((field) => [field, ''])) as DestinationRow['overrides'];
    const rows: DestinationRow[] = [
      ...own.map((link, index) => ({
        id: link.destinationId, name: link.destination, first: index === 0, folder: link.folder,
        overrides: Object.fromEntries(RETENTION_FIELDS.map((field) => [field, link[field] === null ? '' : String(link[field])])) as DestinationRow['overrides'],
      })),
      ...all.filter((destination) => !own.some((link) => link.destinationId === destination.id))
        .map((destination) => ({ id: destination.id, name: destination.name, first: own.length === 0 && destination.remote === null, folder: '', overrides: blank })),
    ];
    return { destinationRows: rows, destinationOrder: rows.map((row) => row.id).join(','), destinationErrors: [] };
  }
}

/** The destination a page's verify or restore button names (a hidden field); none: the app's first. */
function destinationOf(body: Record<string, unknown>): string | undefined {
  return typeof body.destination === 'string' && body.destination !== '' ? body.destination : undefined;
}

/** What the form shows of a stored app: never its sealed secrets, only whether it has a passphrase (drill token) of its own. */
function formApp({ id, name, encryptionPassphraseEncrypted, drillTokenEncrypted }: AppEntity) {
  return { id, name, hasEncryptionPassphrase: encryptionPassphraseEncrypted !== null, hasDrillToken: drillTokenEncrypted !== null };
}
