import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/public.decorator';
import { HealthReport, HealthService } from './health.service';

class HealthResponse {
  @ApiProperty({ enum: ['ok', 'degraded', 'error'], example: 'ok' }) status!: string;
  @ApiProperty({
    example: {
      database: { status: 'ok' },
      rclone: { status: 'ok', version: 'rclone v1.60.1' },
      scheduler: { status: 'ok', jobs: 3 },
      backups: { status: 'ok', stale: 1, apps: [{ id: 1, name: 'billing', lastSuccessAt: '2026-11-20T03:00:09.000Z', stale: true }] },
    },
    description: 'Each part: status ok or error (with the problem). An app is stale when its last success is older than twice its schedule period.',
  })
  checks!: Record<string, unknown>;
}

@ApiTags('health')
@Controller('api/health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Public()
  @Get()
  @ApiOkResponse({ type: HealthResponse, description: 'Serving; status is "degraded" when rclone is unusable, an app cannot be scheduled or an app is stale.' })
  @ApiServiceUnavailableResponse({ type: HealthResponse, description: 'The database is unusable.' })
  async check(@Res({ passthrough: true }) response: Response): Promise<HealthReport> {
    const report = await this.health.report();
    if (report.status === 'error') response.status(HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }
}
