import { Module } from '@nestjs/common';
import { BackupLocations } from './backup-locations.service';
import { RcloneCliAdapter } from './rclone-cli.adapter';
import { RcloneRcdAdapter } from './rclone-rcd.adapter';
import { RcloneAdapter } from './rclone.adapter';

@Module({
  // The daemon for the many small calls; it hands streams to the CLI adapter.
  providers: [RcloneCliAdapter, { provide: RcloneAdapter, useClass: RcloneRcdAdapter }, BackupLocations],
  exports: [RcloneAdapter, BackupLocations],
})
export class StorageModule {}
