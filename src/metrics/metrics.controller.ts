import { Controller, Get, Header, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { AccessService } from '../auth/access.service';
import { Public } from '../auth/public.decorator';
import { AppConfig } from '../config/app-config';
import { MetricsService } from './metrics.service';

/** Prometheus scrape endpoint: the API's credentials (basic auth, API key, session) unless METRICS_PUBLIC=true. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly access: AccessService,
    private readonly config: AppConfig,
  ) {}

  @Public()
  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(@Req() request: Request): Promise<string> {
    // Any role may scrape: the figures carry app names, nothing secret.
    if (!this.config.metricsPublic) await this.access.authenticate(request, undefined, 'api');
    return this.metrics.scrape();
  }
}
