import { Controller, Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses, ErrorResponse } from '../common/api-docs';
import { RunIdPipe } from '../common/id.pipe';
import { RunResponse } from './dto/run.response';
import { RunsService } from './runs.service';

@ApiTags('backups')
@ApiErrorResponses()
@Controller('api/runs')
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  @Get(':id')
  @ApiOkResponse({ type: RunResponse })
  @ApiNotFoundResponse({ type: ErrorResponse, description: 'No run with that id.' })
  async get(@Param('id', RunIdPipe) id: number): Promise<RunResponse> {
    return RunResponse.from(await this.runs.get(id));
  }
}
