import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppsModule } from '../apps/apps.module';
import { StorageModule } from '../storage/storage.module';
import { BackupController } from './backup.controller';
import { BackupJob } from './backup-job.service';
import { BackupRunner } from './backup-runner.service';
import { BackupsService } from './backups.service';
import { ContractClient } from './contract-client';
import { RunEntity } from './run.entity';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';

@Module({
  imports: [TypeOrmModule.forFeature([RunEntity]), HttpModule, AppsModule, StorageModule],
  controllers: [BackupController, RunsController],
  providers: [ContractClient, RunsService, BackupJob, BackupRunner, BackupsService],
  exports: [BackupRunner, RunsService],
})
export class BackupModule {}
