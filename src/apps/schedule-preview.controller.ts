import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from '../common/api-docs';
import { AppConfig } from '../config/app-config';
import { SchedulePreviewQuery, SchedulePreviewResponse } from './dto/schedule-preview.dto';
import { previewSchedule } from './schedule-preview';
import { RequireRole } from '../auth/roles';

@ApiTags('apps')
@ApiErrorResponses()
@Controller('api/schedule-preview')
export class SchedulePreviewController {
  constructor(private readonly config: AppConfig) {}

  @RequireRole('viewer')
  @Get()
  @ApiOperation({ summary: 'Checks a cron expression and shows its next three firings, as the app form does while you type.' })
  @ApiOkResponse({ type: SchedulePreviewResponse, description: 'Also for an invalid expression: `valid: false` and why.' })
  preview(@Query() query: SchedulePreviewQuery): SchedulePreviewResponse {
    return previewSchedule(query.cron, query.timezone || this.config.scheduler.timezone, query.locale ?? 'en');
  }
}
