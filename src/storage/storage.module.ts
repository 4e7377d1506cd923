import { Module } from '@nestjs/common';
import { BackupLocations } from './backup-locations.service';
import { RcloneCliAdapter } from './rclone-cli.adapter';
import { RcloneAdapter } from './rclone.adapter';

@Module({
  providers: [{ provide: RcloneAdapter, useClass: RcloneCliAdapter }, BackupLocations],
  exports: [RcloneAdapter, BackupLocations],
})
export class StorageModule {}
