import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBadGatewayResponse, ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AppIdPipe } from '../common/id.pipe';
import { ApiErrorResponses, ErrorResponse } from '../common/api-docs';
import { BackupRunner } from './backup-runner.service';
import { BackupsService } from './backups.service';
import { BackupFileResponse, CheckResponse } from './dto/check.response';
import { RunResponse, StartedRunResponse } from './dto/run.response';
import { RunsQuery } from './dto/runs.query';
import { RunsService } from './runs.service';

@ApiTags('backups')
@ApiErrorResponses()
@ApiNotFoundResponse({ type: ErrorResponse, description: 'No app with that id.' })
@Controller('api/apps/:id')
export class BackupController {
  constructor(
    private readonly runner: BackupRunner,
    private readonly runs: RunsService,
    private readonly backups: BackupsService,
  ) {}

  @Post('run')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: StartedRunResponse, description: 'The backup is queued; follow it at /api/runs/{runId}.' })
  @ApiConflictResponse({ type: ErrorResponse, description: 'A run of this app is in progress.' })
  async run(@Param('id', AppIdPipe) id: number): Promise<StartedRunResponse> {
    return { runId: (await this.runner.start(id, 'manual')).id };
  }

  @Get('runs')
  @ApiOkResponse({ type: [RunResponse], description: 'Newest first.' })
  async runsOf(@Param('id', AppIdPipe) id: number, @Query() query: RunsQuery): Promise<RunResponse[]> {
    return (await this.runs.listForApp(id, query.limit)).map(RunResponse.from);
  }

  @Post('check')
  @HttpCode(200)
  @ApiOkResponse({ type: CheckResponse, description: 'Capabilities only; ok is false with the reason when the app cannot be used.' })
  check(@Param('id', AppIdPipe) id: number): Promise<CheckResponse> {
    return this.backups.check(id);
  }

  @Get('backups')
  @ApiOkResponse({ type: [BackupFileResponse], description: "This app's files in the remote, newest first." })
  @ApiBadGatewayResponse({ type: ErrorResponse, description: 'The remote could not be listed.' })
  async backupsOf(@Param('id', AppIdPipe) id: number): Promise<BackupFileResponse[]> {
    return (await this.backups.list(id)).map(({ name, size, modifiedAt }) => ({ name, size, modifiedAt }));
  }
}
