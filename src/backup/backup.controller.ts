import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import { ApiAcceptedResponse, ApiBadGatewayResponse, ApiBadRequestResponse, ApiProduces, ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AppIdPipe } from '../common/id.pipe';
import { ApiErrorResponses, ErrorResponse } from '../common/api-docs';
import { announcePages, decodeCursor } from '../common/pagination';
import { LINK_HEADER } from '../common/pagination.dto';
import { BackupRunner } from './backup-runner.service';
import { BackupsService } from './backups.service';
import { BackupFileResponse, CheckResponse, DestinationQuery, DrillRequest, RestoreRequest, VerifyRequest } from './dto/check.response';
import { StoredBackups } from './stored-backups.service';
import { RunResponse, StartedRunResponse } from './dto/run.response';
import { RunsQuery } from './dto/runs.query';
import { RunsService } from './runs.service';
import { RequireRole } from '../auth/roles';
import { Audited } from '../audit/audited.decorator';

const isRunId = (key: string) => /^[1-9]\d{0,15}$/.test(key);

@ApiTags('backups')
@ApiErrorResponses()
@ApiNotFoundResponse({ type: ErrorResponse, description: 'No app with that id.' })
@Controller('api/apps/:id')
export class BackupController {
  constructor(
    private readonly runner: BackupRunner,
    private readonly runs: RunsService,
    private readonly backups: BackupsService,
    private readonly stored: StoredBackups,
  ) {}

  @RequireRole('operator')
  @Audited('run.request', 'app')
  @Post('run')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: StartedRunResponse, description: 'The backup is queued; follow it at /api/runs/{runId}.' })
  @ApiConflictResponse({ type: ErrorResponse, description: 'A run of this app is in progress.' })
  async run(@Param('id', AppIdPipe) id: number): Promise<StartedRunResponse> {
    return { runId: (await this.runner.start(id, 'manual')).id };
  }

  @RequireRole('viewer')
  @Get('runs')
  @ApiOkResponse({ type: [RunResponse], description: 'A page of runs, newest first.', headers: LINK_HEADER })
  async runsOf(
    @Param('id', AppIdPipe) id: number,
    @Query() query: RunsQuery,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<RunResponse[]> {
    const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor, isRunId);
    const runs = announcePages(request, response, await this.runs.listForApp(id, query.limit, cursor));
    const copies = await this.runs.copiesOf(runs.map((run) => run.id));
    return runs.map((run) => RunResponse.from(run, copies.get(run.id)));
  }

  @RequireRole('operator')
  @Audited('check.request', 'app')
  @Post('check')
  @HttpCode(200)
  @ApiOkResponse({ type: CheckResponse, description: 'Capabilities only; ok is false with the reason when the app cannot be used.' })
  check(@Param('id', AppIdPipe) id: number): Promise<CheckResponse> {
    return this.backups.check(id);
  }

  @RequireRole('viewer')
  @Get('backups')
  @ApiOkResponse({ type: [BackupFileResponse], description: "This app's files in the remote, newest first." })
  @ApiBadGatewayResponse({ type: ErrorResponse, description: 'The remote could not be listed.' })
  backupsOf(@Param('id', AppIdPipe) id: number, @Query() query: DestinationQuery): Promise<BackupFileResponse[]> {
    return this.backups.list(id, query.destination);
  }

  @RequireRole('admin')
  @Audited('restore.request', 'app')
  @Post('restore')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: StartedRunResponse, description: 'The restore is queued; follow it at /api/runs/{runId}.' })
  @ApiBadRequestResponse({
    type: ErrorResponse,
    description: "Not one of this app's backups, no recorded checksum, the app does not announce restore, or the backup's schemaVersion is newer than the app's (without force).",
  })
  @ApiConflictResponse({ type: ErrorResponse, description: 'A run of this app is in progress.' })
  async restore(@Param('id', AppIdPipe) id: number, @Body() body: RestoreRequest): Promise<StartedRunResponse> {
    return { runId: (await this.runner.startRestore(id, body.backup, { destination: body.destination, force: body.force === true })).id };
  }

  @RequireRole('operator')
  @Audited('verify.request', 'app')
  @Post('verify')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: StartedRunResponse, description: 'The verification is queued; follow it at /api/runs/{runId}.' })
  @ApiBadRequestResponse({ type: ErrorResponse, description: "Not one of this app's backups, or no recorded checksum." })
  @ApiConflictResponse({ type: ErrorResponse, description: 'A run of this app is in progress.' })
  async verify(@Param('id', AppIdPipe) id: number, @Body() body: VerifyRequest): Promise<StartedRunResponse> {
    return { runId: (await this.runner.startVerify(id, 'manual', body?.backup, body?.destination)).id };
  }

  @RequireRole('operator')
  @Audited('drill.request', 'app')
  @Post('drill')
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: StartedRunResponse,
    description: "The restore drill is queued: the backup is restored into the app's drillUrl (never its url), then its selftest is asked. Follow it at /api/runs/{runId}.",
  })
  @ApiBadRequestResponse({ type: ErrorResponse, description: "The app has no drill instance, or the backup is not one of this app's recorded backups." })
  @ApiConflictResponse({ type: ErrorResponse, description: 'A run of this app is in progress.' })
  async drill(@Param('id', AppIdPipe) id: number, @Body() body: DrillRequest): Promise<StartedRunResponse> {
    return { runId: (await this.runner.startDrill(id, 'manual', body?.backup, body?.destination)).id };
  }

  @RequireRole('admin')
  @Audited('backup.download', 'app')
  @Get('backups/:name/download')
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ description: 'The stored bytes, as an attachment with Content-Length.' })
  @ApiBadRequestResponse({ type: ErrorResponse, description: "Not one of this app's backups." })
  async download(@Param('id', AppIdPipe) id: number, @Param('name') name: string, @Query() query: DestinationQuery, @Res() response: Response): Promise<void> {
    const { stream, done, backup } = await this.stored.download(id, name, query.destination);
    response.set({
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(backup.bytes),
      'Content-Disposition': `attachment; filename="${backup.name}"`,
    });
    // A read that fails half way must look broken to the browser, never complete: destroy the response.
    done.catch((error: Error) => response.destroy(error));
    await pipeline(stream, response).catch(() => response.destroy());
  }
}
