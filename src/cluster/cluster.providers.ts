import type { Provider } from '@nestjs/common';
import { BackupRunner } from '../backup/backup-runner.service';
import { AppConfig } from '../config/app-config';
import { AppChangeRelay } from './app-change-relay.service';
import { FiringQueue, InProcessFiringQueue } from './firing-queue';
import { LostRuns } from './lost-runs.service';
import { ReplicaLeases } from './replica-leases.service';

/** What a run needs to be shared by replicas; in embedded mode the same classes do what one process always did. */
export const CLUSTER_PROVIDERS: Provider[] = [
  {
    provide: FiringQueue,
    useFactory: async (config: AppConfig, replica: ReplicaLeases, runner: BackupRunner) => {
      if (!config.databaseUrl) return new InProcessFiringQueue();
      // Loaded in cluster mode only: pg-boss takes ~90 ms to load, which an embedded boot need not pay.
      const { PgBossFiringQueue } = await import('./pg-boss-firing-queue.js');
      const queue = new PgBossFiringQueue(config, replica, () => runner.hasRoom(), async (request) => (await runner.perform(request)).id);
      // Wired here, not injected: the runner and the queue each need the other (runs of other zones go through the queue).
      runner.handOverWith((zone, request) => queue.handOver(zone, request));
      return queue;
    },
    inject: [AppConfig, ReplicaLeases, BackupRunner],
  },
  ReplicaLeases,
  LostRuns,
  AppChangeRelay,
];
