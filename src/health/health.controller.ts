import { Controller, Get, HttpStatus, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AccessService } from '../auth/access.service';
import { Public } from '../auth/public.decorator';
import { HealthReport, HealthService } from './health.service';

class HealthResponse {
  @ApiProperty({ enum: ['ok', 'degraded', 'error'], example: 'ok' }) status!: string;
  @ApiPropertyOptional({
    example: {
      database: { status: 'ok' },
      rclone: { status: 'ok', version: 'rclone v1.60.1' },
      scheduler: { status: 'ok', jobs: 3 },
      backups: { status: 'ok', stale: 1, apps: [{ id: 1, name: 'billing', lastSuccessAt: '2026-11-20T03:00:09.000Z', stale: true }] },
      verification: {
        status: 'error',
        error: 'newest backup failed verification: billing',
        failed: 1,
        apps: [{ id: 1, name: 'billing', backup: 'billing-20261128T030000Z.db', runId: 42, verifiedAt: '2026-11-29T04:00:02.000Z', status: 'degraded' }],
        more: 0,
      },
    },
    description:
      'Only with the admin credentials. Each part: status ok or error (with the problem). An app is stale when its last success is older than twice its schedule period; ' +
      'verification lists the apps (first 50, `more` not listed) whose newest backup failed its latest verification, each marked degraded.',
  })
  checks?: Record<string, unknown>;
}

@ApiTags('health')
@Controller('api/health')
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly access: AccessService,
  ) {}

  /**
   * Public, for Docker's HEALTHCHECK and load balancers: anyone gets the status; only the admin gets
   * the checks (anyone logged in, any role: app names, versions and error texts help an attacker). Wrong credentials get the short
   * answer, never a 401 that would fail a probe, and count as a failed login like anywhere else.
   */
  @Public()
  @Get()
  @ApiOkResponse({ type: HealthResponse, description: 'Serving; status is "degraded" when rclone is unusable, an app cannot be scheduled, an app is stale or an app\'s newest backup failed verification.' })
  @ApiServiceUnavailableResponse({ type: HealthResponse, description: 'The database is unusable.' })
  async check(@Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<HealthReport | Pick<HealthReport, 'status'>> {
    const report = await this.health.report();
    if (report.status === 'error') response.status(HttpStatus.SERVICE_UNAVAILABLE);
    return (await this.access.principalOrNull(request, response)) ? report : { status: report.status };
  }
}
