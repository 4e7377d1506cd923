import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { StorageModule } from '../storage/storage.module';
import { AppListing } from './app-listing.service';
import { AppEntity } from './app.entity';
import { AppsController } from './apps.controller';
import { AppsService } from './apps.service';

@Module({
  imports: [TypeOrmModule.forFeature([AppEntity]), StorageModule],
  controllers: [AppsController],
  providers: [AppsService, AppListing],
  exports: [AppsService, AppListing],
})
export class AppsModule {}
