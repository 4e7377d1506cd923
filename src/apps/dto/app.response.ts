import { ApiProperty } from '@nestjs/swagger';
import type { AppActivityInfo } from '../app-activity';
import { AppDestinationResponse } from '../../destinations/dto/app-destination.dto';
import { AppEntity, Encryption, ENCRYPTIONS, FOLLOW_VERIFY_SCHEDULE } from '../app.entity';

class LastRunResponse {
  @ApiProperty({ example: 42 }) id!: number;
  @ApiProperty({ example: 'succeeded', enum: ['queued', 'running', 'succeeded', 'partial', 'failed', 'skipped', 'cancelled'] }) status!: string;
  @ApiProperty({ example: '2026-11-28T03:00:00.120Z', nullable: true, type: Date }) startedAt!: Date | null;
  @ApiProperty({ example: '2026-11-28T03:00:09.480Z', nullable: true, type: Date }) finishedAt!: Date | null;
  @ApiProperty({ example: 104857600 }) bytes!: number;
}

/** An app as the API shows it: everything but the token, which is only ever reported as present. */
export class AppResponse {
  @ApiProperty({ example: 1 }) id!: number;
  @ApiProperty({ example: 'billing' }) name!: string;
  @ApiProperty({ example: 'http://billing:8000' }) url!: string;
  @ApiProperty({ example: '0 3 * * *' }) schedule!: string;
  @ApiProperty({ example: 'Europe/Madrid', description: "The schedule's zone: the app's own, else SCHEDULER_TIMEZONE." })
  timezone!: string;
  @ApiProperty({ example: '1AbCdEfGhIjKlMnOpQrStUvWxYz', description: 'The folder of the first destination (compatibility).' }) driveFolderId!: string;
  @ApiProperty({ type: [AppDestinationResponse], description: 'Where each backup is stored, the first first; retention overrides null: the app\'s rule.' })
  destinations!: AppDestinationResponse[];
  @ApiProperty({ example: 7, description: 'The N newest backups kept.' }) retention!: number;
  @ApiProperty({ example: 14, description: 'The newest backup of each of the last N days that have one; 0: off.' }) keepDaily!: number;
  @ApiProperty({ example: 8, description: 'The same per ISO week; 0: off.' }) keepWeekly!: number;
  @ApiProperty({ example: 12, description: 'The same per month; 0: off.' }) keepMonthly!: number;
  @ApiProperty({ example: 0, description: 'The same per year; 0: off.' }) keepYearly!: number;
  @ApiProperty({
    example: FOLLOW_VERIFY_SCHEDULE,
    nullable: true,
    type: String,
    description: `"${FOLLOW_VERIFY_SCHEDULE}": follows VERIFY_SCHEDULE; a cron expression: its own; null: never verified on a schedule.`,
  })
  verifySchedule!: string | null;
  @ApiProperty({ example: null, nullable: true, type: String, description: 'Dead-man switch URL, or null.' }) pingUrl!: string | null;
  @ApiProperty({ example: true }) enabled!: boolean;
  @ApiProperty({ example: 'default', description: 'Which replicas run it: those whose REPLICA_ZONE it is.' }) zone!: string;
  @ApiProperty({ enum: ENCRYPTIONS, example: 'none', description: 'How new backups are stored: as sent, or encrypted by rclone crypt.' })
  encryption!: Encryption;
  @ApiProperty({ example: false, description: 'The app has a passphrase of its own (it is never returned); false: DEFAULT_ENCRYPTION_PASSPHRASE applies.' })
  hasEncryptionPassphrase!: boolean;
  @ApiProperty({ example: 'http://billing-drill:8000', nullable: true, type: String, description: 'The drill instance backups are restored into by drills; null: none.' })
  drillUrl!: string | null;
  @ApiProperty({ example: true, description: 'A drill token is stored (it is never returned).' }) hasDrillToken!: boolean;
  @ApiProperty({ example: '0 5 * * 6', nullable: true, type: String, description: 'When drills run on their own; null: only on request.' })
  drillSchedule!: string | null;
  @ApiProperty({ example: '2026-11-28T03:00:00.000Z' }) createdAt!: Date;
  @ApiProperty({ example: '2026-11-28T03:00:00.000Z' }) updatedAt!: Date;
  @ApiProperty({ example: true, description: 'A token is stored (it is never returned).' }) hasToken!: boolean;
  @ApiProperty({ example: '2026-11-29T02:00:00.000Z', nullable: true, type: Date, description: 'Next scheduled run (UTC); null when disabled.' })
  nextRunAt!: Date | null;
  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description:
      'null when all is well. Otherwise why this enabled app has no scheduled job (e.g. a schedule stored by an older ' +
      'version that never fires): it is not run on schedule until fixed, and /api/health is degraded.',
  })
  scheduleError!: string | null;
  @ApiProperty({ type: LastRunResponse, nullable: true, description: 'The most recent run of any trigger, or null.' })
  lastRun!: LastRunResponse | null;
  @ApiProperty({ example: '2026-11-28T03:00:09.480Z', nullable: true, type: Date, description: 'When its newest successful backup finished, or null.' })
  lastSuccessAt!: Date | null;
  @ApiProperty({ example: false, description: 'Enabled, and no successful backup for more than twice its schedule period.' })
  stale!: boolean;

  static from(app: AppEntity, activity: AppActivityInfo, destinations: AppDestinationResponse[]): AppResponse {
    const { tokenEncrypted, encryptionPassphraseEncrypted, drillTokenEncrypted, ...visible } = app;
    return Object.assign(new AppResponse(), visible, activity, {
      destinations,
      hasToken: tokenEncrypted.length > 0,
      hasDrillToken: drillTokenEncrypted !== null,
      hasEncryptionPassphrase: encryptionPassphraseEncrypted !== null,
    });
  }
}
