import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { AppsModule } from './apps/apps.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { BackupModule } from './backup/backup.module';
import { DestinationsModule } from './destinations/destinations.module';
import { jsonLogging } from './common/json-logger';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DataDirLock } from './database/data-dir-lock';
import { databaseOptions } from './database/database.options';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { NotifyModule } from './notify/notify.module';
import { PagesModule } from './pages/pages.module';

/** The whole service for one validated configuration (main.ts and the e2e tests build it the same way). */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, dataDirLock: DataDirLock): DynamicModule {
    return {
      module: AppModule,
      // Held for the life of the application; released when it closes.
      providers: [{ provide: DataDirLock, useValue: dataDirLock }],
      imports: [
        ConfigModule.forRoot(config),
        TypeOrmModule.forRoot(databaseOptions(config)),
        ScheduleModule.forRoot(),
        AuditModule,
        AuthModule,
        AppsModule,
        DestinationsModule,
        BackupModule,
        HealthModule,
        PagesModule,
        MetricsModule,
        NotifyModule,
        ...(config.logFormat === 'json' ? [LoggerModule.forRoot(jsonLogging(config.logLevel))] : []),
      ],
    };
  }
}
