import { Body, Controller, Get, Param, Post, Render, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Audited, noteFailure } from '../audit/audited.decorator';
import { RequireRole } from '../auth/roles';
import { DestinationNotFoundError, DomainError } from '../common/errors';
import { IdPipe } from '../common/id.pipe';
import { DestinationsService } from '../destinations/destinations.service';
import { CreateDestinationDto, DestinationResponse } from '../destinations/dto/destination.dto';
import { CsrfGuard } from './csrf';
import { formInput } from './form-input';
import { PageContext } from './page-context';

const DestinationIdPipe = new IdPipe(DestinationNotFoundError);

/** The admins' page for destinations (3-2-1): the same service, rules and words as /api/destinations. */
@ApiExcludeController()
@RequireRole('admin')
@Controller('destinations')
export class DestinationsPagesController {
  constructor(
    private readonly destinations: DestinationsService,
    private readonly context: PageContext,
  ) {}

  @Get()
  @Render('destinations/index')
  async list(@Req() request: Request, @Res({ passthrough: true }) response: Response) {
    const usage = await this.destinations.usage();
    const list = (await this.destinations.list()).map((destination) =>
      DestinationResponse.from(destination, this.destinations.remoteOf(destination), usage.get(destination.id) ?? 0));
    return { ...this.context.of(request, response), destinations: list };
  }

  @Audited('destination.create', 'destination')
  @Post()
  @UseGuards(CsrfGuard)
  async create(@Body() body: Record<string, unknown>, @Req() request: Request, @Res() response: Response) {
    const passphrase = typeof body.encryptionPassphrase === 'string' && body.encryptionPassphrase !== '' ? { encryptionPassphrase: body.encryptionPassphrase } : {};
    const form = await formInput(CreateDestinationDto, { name: trim(body.name), remote: trim(body.remote), encryption: trim(body.encryption) || 'none', ...passphrase });
    await this.act(request, response, form.ok ? null : form.message, async () => {
      const created = await this.destinations.create((form as { input: CreateDestinationDto }).input);
      this.context.flash(response, 'success', 'flash.destinationCreated', { name: created.name });
    });
    response.redirect(303, '/destinations');
  }

  @Audited('destination.check', 'destination')
  @Post(':id/check')
  @UseGuards(CsrfGuard)
  async check(@Param('id', DestinationIdPipe) id: number, @Req() request: Request, @Res() response: Response) {
    const { name } = await this.destinations.get(id);
    const result = await this.destinations.check(id);
    if (result.ok) this.context.flash(response, 'success', 'flash.destinationReachable', { name, type: result.type });
    else {
      noteFailure(request, result.error!);
      this.context.flash(response, 'danger', 'flash.destinationUnreachable', { name, error: result.error });
    }
    response.redirect(303, '/destinations');
  }

  @Audited('destination.delete', 'destination')
  @Post(':id/delete')
  @UseGuards(CsrfGuard)
  async remove(@Param('id', DestinationIdPipe) id: number, @Req() request: Request, @Res() response: Response) {
    await this.act(request, response, null, async () => {
      const removed = await this.destinations.remove(id);
      this.context.flash(response, 'success', 'flash.destinationDeleted', { name: removed.name });
    });
    response.redirect(303, '/destinations');
  }

  /** A refusal (invalid field, name taken, in use) becomes the message on the next page. */
  private async act(request: Request, response: Response, invalid: string | null, action: () => Promise<void>) {
    const refuse = (message: string) => {
      noteFailure(request, message);
      this.context.flash(response, 'danger', 'flash.refused', { error: message });
    };
    if (invalid !== null) return refuse(invalid);
    try {
      await action();
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      refuse(error.message);
    }
  }
}

const trim = (value: unknown) => (typeof value === 'string' ? value.trim() : '');
