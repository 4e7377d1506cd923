import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { CursorQuery } from '../../common/pagination.dto';
import { APP_STATUSES, AppStatus } from '../app-activity';

export class ListAppsQuery extends CursorQuery {
  @ApiPropertyOptional({ default: 100, minimum: 1, maximum: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit: number = 100;

  @ApiPropertyOptional({ description: 'Only apps whose name or URL contains this text, ignoring case.', example: 'bill' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;

  @ApiPropertyOptional({
    enum: APP_STATUSES,
    description:
      'Only apps in this state. ok: enabled, scheduled, not stale, newest run did not fail; failed: newest run failed; ' +
      'stale: enabled and no successful backup for more than twice its schedule period; running: a run is queued or running; ' +
      'schedule-error: enabled but its schedule cannot be registered; disabled; never-run: no run yet.',
  })
  @IsOptional()
  @IsIn(APP_STATUSES)
  status?: AppStatus;
}
