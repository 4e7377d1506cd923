import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { BackupRunner } from '../backup/backup-runner.service';
import { RunsService } from '../backup/runs.service';
import { english } from '../common/i18n';
import { AppConfig } from '../config/app-config';
import { ReplicaLeases } from './replica-leases.service';

/**
 * Cluster mode: every replica looks, every RUN_LEASE_S / 8 and once at boot, for runs whose lease ran out, fails
 * them "replica lost" and removes their temporary files. Failing is a conditional update (still queued or running),
 * so when several replicas find the same run, one records it and cleans up. A live run of another replica has a
 * live lease: it is never touched, which is what a boot used to do to every unfinished run.
 */
@Injectable()
export class LostRuns implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LostRuns.name);
  private timer?: NodeJS.Timeout;
  private pass: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: AppConfig,
    private readonly leases: ReplicaLeases,
    private readonly runs: RunsService,
    private readonly runner: BackupRunner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.leases.enabled) return;
    await this.reap();
    this.timer = setInterval(() => {
      // Passes never overlap: a slow remote cleanup must not start a second one.
      this.pass = this.pass.then(() => this.reap());
    }, this.config.runLeaseMs / 8);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.pass;
  }

  async reap(): Promise<void> {
    try {
      const lost = [];
      for (const id of await this.leases.lapsed()) {
        const run = await this.runs.failIfUnfinished(id, english('failure.replicaLost'));
        if (run) lost.push(run);
      }
      if (lost.length > 0) {
        this.logger.warn(`failed ${lost.length} run(s) of a lost replica: ${lost.map((run) => `${run.id} (${run.appName})`).join(', ')}`);
        await this.runner.removeLeftovers(lost);
      }
      await this.leases.sweep();
    } catch (error) {
      this.logger.error(`could not look for runs of lost replicas: ${(error as Error).message}`);
    }
  }
}
