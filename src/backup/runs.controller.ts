import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiErrorResponses, ErrorResponse } from '../common/api-docs';
import { RunIdPipe } from '../common/id.pipe';
import { announceNext } from '../common/pagination';
import { RunListQuery } from './dto/run-list.query';
import { BackupRunner } from './backup-runner.service';
import { RunResponse, StartedRunResponse } from './dto/run.response';
import { RunsService } from './runs.service';
import { Audited } from '../audit/audited.decorator';
import { RequireRole } from '../auth/roles';

@ApiTags('backups')
@ApiErrorResponses()
@Controller('api/runs')
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly runner: BackupRunner,
  ) {}

  @RequireRole('viewer')
  @Get()
  @ApiOkResponse({
    type: [RunResponse],
    description: 'Runs of every app, newest first. A plain array; the next (older) page is in the Link header.',
    headers: {
      Link: {
        description: 'RFC 8288 link to the next (older) page, every other query parameter kept; absent on the last page.',
        schema: { type: 'string', example: '</api/runs?status=failed&before=1234>; rel="next"' },
      },
    },
  })
  async list(@Query() query: RunListQuery, @Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<RunResponse[]> {
    const page = await this.runs.list(query, query.limit);
    const runs = announceNext(request, response, page.items, page.next === null ? null : String(page.next), 'before');
    const copies = await this.runs.copiesOf(runs.map((run) => run.id));
    return runs.map((run) => RunResponse.from(run, copies.get(run.id)));
  }

  @RequireRole('viewer')
  @Get(':id')
  @ApiOkResponse({ type: RunResponse })
  @ApiNotFoundResponse({ type: ErrorResponse, description: 'No run with that id.' })
  async get(@Param('id', RunIdPipe) id: number): Promise<RunResponse> {
    const run = await this.runs.get(id);
    return RunResponse.from(run, (await this.runs.copiesOf([id])).get(id));
  }

  @RequireRole('operator')
  @Audited('cancel.request', 'run')
  @Post(':id/cancel')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Cancel a queued or running run',
    description: 'The run ends `cancelled`. A queued run leaves the queue and never starts (already recorded when this answers). ' +
      'A running one is stopped: a backup kills rclone before the end of the export, removes its temporary file, stores ' +
      'nothing and deletes nothing (no retention); a restore aborts the import body, which the app must discard; a ' +
      'verification stops reading. Follow it at /api/runs/{runId}.',
  })
  @ApiAcceptedResponse({ type: StartedRunResponse, description: 'The run is cancelled (queued) or being stopped (running).' })
  @ApiConflictResponse({ type: ErrorResponse, description: 'The run has already finished, is storing its result and ends as it is, or is already being cancelled.' })
  @ApiNotFoundResponse({ type: ErrorResponse, description: 'No run with that id.' })
  async cancel(@Param('id', RunIdPipe) id: number): Promise<StartedRunResponse> {
    return { runId: (await this.runner.cancel(id)).id };
  }
}
