import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module';
import { StorageModule } from '../storage/storage.module';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';

@Module({ imports: [StorageModule, AppsModule], controllers: [HealthController], providers: [HealthService] })
export class HealthModule {}
