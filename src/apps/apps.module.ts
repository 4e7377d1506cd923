import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DestinationsModule } from '../destinations/destinations.module';
import { StorageModule } from '../storage/storage.module';
import { AppListing } from './app-listing.service';
import { AppEntity } from './app.entity';
import { AppsController } from './apps.controller';
import { AppsService } from './apps.service';
import { SchedulePreviewController } from './schedule-preview.controller';

@Module({
  imports: [TypeOrmModule.forFeature([AppEntity]), StorageModule, DestinationsModule],
  controllers: [AppsController, SchedulePreviewController],
  providers: [AppsService, AppListing],
  exports: [AppsService, AppListing, DestinationsModule],
})
export class AppsModule {}
