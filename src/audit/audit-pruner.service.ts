import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { AuditService } from './audit.service';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Keeps AUDIT_RETENTION_DAYS of the audit log: at boot and daily. */
@Injectable()
export class AuditPruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AuditPruner.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  onApplicationBootstrap(): void {
    this.prune();
    this.timer = setInterval(() => this.prune(), DAY_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private prune(): void {
    this.audit.prune(this.config.auditRetentionDays).then(
      (deleted) => deleted > 0 && this.logger.log(`pruned ${deleted} audit entries older than ${this.config.auditRetentionDays} days`),
      (error: Error) => this.logger.error(`pruning the audit log failed: ${error.message}`),
    );
  }
}
