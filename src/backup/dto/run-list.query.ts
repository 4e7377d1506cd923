import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { RUN_KINDS, RUN_STATUSES, RUN_TRIGGERS, RunKind, RunStatus, RunTrigger } from '../run.entity';

/** GET /api/runs: every run, newest first, narrowed by any of these fields; `before` continues below a run id. */
export class RunListQuery {
  @ApiPropertyOptional({ enum: RUN_STATUSES, example: 'failed' })
  @IsOptional()
  @IsIn(RUN_STATUSES)
  status?: RunStatus;

  @ApiPropertyOptional({ enum: RUN_KINDS, example: 'backup' })
  @IsOptional()
  @IsIn(RUN_KINDS)
  kind?: RunKind;

  @ApiPropertyOptional({ enum: RUN_TRIGGERS, example: 'schedule' })
  @IsOptional()
  @IsIn(RUN_TRIGGERS)
  trigger?: RunTrigger;

  @ApiPropertyOptional({ example: 1, minimum: 1, description: 'Only the runs of this app.' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  appId?: number;

  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit: number = 50;

  @ApiPropertyOptional({ example: 1234, minimum: 1, description: 'Only runs with a smaller id: copy it from the Link header of the previous answer.' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  before?: number;
}
