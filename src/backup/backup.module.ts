import { HttpModule } from '@nestjs/axios';
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppActivity } from '../apps/app-activity';
import { AppsModule } from '../apps/apps.module';
import { BackupAppActivity } from './app-activity.service';
import { BackupScheduler } from './backup-scheduler.service';
import { StoredBackups } from './stored-backups.service';
import { VerifyScheduler } from './verify-scheduler.service';
import { DrillScheduler } from './drill-scheduler.service';
import { RestoreDrill } from './restore-drill.service';
import { StorageModule } from '../storage/storage.module';
import { BackupController } from './backup.controller';
import { BackupJob } from './backup-job.service';
import { BackupRunner } from './backup-runner.service';
import { BackupsService } from './backups.service';
import { ContractClient } from './contract-client';
import { RunHistoryPruner } from './run-history-pruner.service';
import { RunEntity } from './run.entity';
import { RunDestinationEntity } from './run-destination.entity';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';
import { CLUSTER_PROVIDERS } from '../cluster/cluster.providers';
import { ReplicaLeases } from '../cluster/replica-leases.service';
import { ReplicasController } from '../cluster/replicas.controller';

// Global so that the registry's controller can show schedules and last runs through the AppActivity port.
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([RunEntity, RunDestinationEntity]), HttpModule, AppsModule, StorageModule],
  controllers: [BackupController, RunsController, ReplicasController],
  providers: [
    ContractClient,
    RunsService,
    BackupJob,
    BackupRunner,
    BackupsService,
    BackupScheduler,
    StoredBackups,
    RunHistoryPruner,
    VerifyScheduler,
    RestoreDrill,
    DrillScheduler,
    { provide: AppActivity, useClass: BackupAppActivity },
    ...CLUSTER_PROVIDERS,
  ],
  exports: [AppActivity, ReplicaLeases, BackupRunner, BackupsService, RunsService, BackupScheduler, VerifyScheduler, DrillScheduler],
})
export class BackupModule {}
