import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiErrorResponses, ErrorResponse } from '../common/api-docs';
import { RunIdPipe } from '../common/id.pipe';
import { announceNext } from '../common/pagination';
import { RunListQuery } from './dto/run-list.query';
import { RunResponse } from './dto/run.response';
import { RunsService } from './runs.service';
import { RequireRole } from '../auth/roles';

@ApiTags('backups')
@ApiErrorResponses()
@Controller('api/runs')
export class RunsController {
  constructor(private readonly runs: RunsService) {}

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
    return announceNext(request, response, page.items, page.next === null ? null : String(page.next), 'before').map(RunResponse.from);
  }

  @RequireRole('viewer')
  @Get(':id')
  @ApiOkResponse({ type: RunResponse })
  @ApiNotFoundResponse({ type: ErrorResponse, description: 'No run with that id.' })
  async get(@Param('id', RunIdPipe) id: number): Promise<RunResponse> {
    return RunResponse.from(await this.runs.get(id));
  }
}
