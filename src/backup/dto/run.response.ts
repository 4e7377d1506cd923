import { ApiProperty } from '@nestjs/swagger';
import { recordedAppVersion } from '../app-version';
import { Selftest, selftestOf } from '../selftest';
import { RUN_KINDS, RUN_STATUSES, RUN_TRIGGERS, RunEntity } from '../run.entity';
import { COPY_STATUSES, RunDestinationEntity } from '../run-destination.entity';

/** What became of a backup run's copy in one destination. */
export class RunDestinationResponse {
  @ApiProperty({ example: 'offsite', description: "The destination's name when the run made the copy." }) destination!: string;
  @ApiProperty({ example: 2, nullable: true, type: Number, description: 'Null once the destination was deleted.' }) destinationId!: number | null;
  @ApiProperty({ enum: COPY_STATUSES, example: 'succeeded' }) status!: string;
  @ApiProperty({ example: 'b2:bucket/billing/billing-20261128T030000Z.db', nullable: true, type: String }) remotePath!: string | null;
  @ApiProperty({ example: 104857600 }) bytes!: number;
  @ApiProperty({ example: null, nullable: true, type: String, description: 'Why this copy was not stored.' }) error!: string | null;
  @ApiProperty({ example: null, nullable: true, type: Date, description: 'When retention deleted this copy.' }) backupRemovedAt!: Date | null;

  static from(copy: RunDestinationEntity): RunDestinationResponse {
    const { destination, destinationId, status, remotePath, bytes, error, backupRemovedAt } = copy;
    return { destination, destinationId, status, remotePath, bytes, error, backupRemovedAt };
  }
}

/** What an app said of itself in its capabilities (contract v1, optional): free text, at most 100 characters each. */
export class AppVersionResponse {
  @ApiProperty({ example: 'billing', nullable: true, type: String }) name!: string | null;
  @ApiProperty({ example: '4.2.0', nullable: true, type: String }) version!: string | null;
  @ApiProperty({ example: '2026_11_01', nullable: true, type: String, description: 'Compared with the app\'s current one on restore.' })
  schemaVersion!: string | null;
}

class SelftestCheckResponse {
  @ApiProperty({ example: 'rows in notes' }) name!: string;
  @ApiProperty({ example: true }) ok!: boolean;
  @ApiProperty({ example: '12430 rows', nullable: true, type: String }) detail!: string | null;
}

export class SelftestResponse {
  @ApiProperty({ example: true, description: "The drill instance's verdict (and every check passed)." }) ok!: boolean;
  @ApiProperty({ type: [SelftestCheckResponse] }) checks!: SelftestCheckResponse[];
}

export class RunResponse {
  @ApiProperty({ example: 42 }) id!: number;
  @ApiProperty({ example: 1 }) appId!: number;
  @ApiProperty({ example: 'billing' }) appName!: string;
  @ApiProperty({ enum: RUN_KINDS, example: 'backup' }) kind!: string;
  @ApiProperty({ enum: RUN_TRIGGERS, example: 'manual' }) trigger!: string;
  @ApiProperty({ example: 'billing-20261128T030000Z.db', nullable: true, type: String, description: 'The backup file made, restored or verified.' })
  backupName!: string | null;
  @ApiProperty({
    enum: RUN_STATUSES,
    example: 'succeeded',
    description: 'A backup is `succeeded` when every destination stored its copy, `partial` when some did, `failed` when none did.',
  })
  status!: string;
  @ApiProperty({ example: null, nullable: true, type: Number, description: 'For a restore or verification: the destination read.' })
  destinationId!: number | null;
  @ApiProperty({ type: [RunDestinationResponse], description: 'For a backup: one result per destination, in the app\'s order.' })
  destinations!: RunDestinationResponse[];
  @ApiProperty({ example: '2026-11-28T03:00:00.000Z' }) queuedAt!: Date;
  @ApiProperty({ example: '2026-11-28T03:00:00.120Z', nullable: true, type: Date }) startedAt!: Date | null;
  @ApiProperty({ example: '2026-11-28T03:00:09.480Z', nullable: true, type: Date }) finishedAt!: Date | null;
  @ApiProperty({ example: 104857600, description: 'Bytes received; grows while the run is running.' }) bytes!: number;
  @ApiProperty({ example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', nullable: true, type: String })
  sha256!: string | null;
  @ApiProperty({ example: '/data/backups/billing/billing-20261128T030000Z.db', nullable: true, type: String })
  remotePath!: string | null;
  @ApiProperty({ example: null, nullable: true, type: Date, description: 'When retention deleted the backup this run made.' })
  backupRemovedAt!: Date | null;
  @ApiProperty({ example: null, nullable: true, type: String, description: 'Which step failed and why.' }) error!: string | null;
  @ApiProperty({ type: [String], example: ['2026-11-28T03:00:00.130Z capabilities: contract v1, type sqlite'] }) log!: string[];
  @ApiProperty({
    type: AppVersionResponse,
    nullable: true,
    description: 'A backup: the version the app reported when it was made; null when it reported none (or another kind of run).',
  })
  app!: AppVersionResponse | null;
  @ApiProperty({ type: SelftestResponse, nullable: true, description: "A drill: the drill instance's selftest answer; null when none was read." })
  selftest!: Selftest | null;

  static from(run: RunEntity, copies: RunDestinationEntity[] = []): RunResponse {
    // The passphrase is a secret, loaded only to read a backup; the version columns are shown as one object.
    const { encryptionPassphraseEncrypted, appReportedName, appVersion, appSchemaVersion, selftest, ...visible } = run;
    return Object.assign(new RunResponse(), visible, {
      log: run.log.split('\n').filter(Boolean),
      app: recordedAppVersion(run),
      selftest: selftestOf(run.selftest),
      destinations: copies.map(RunDestinationResponse.from),
    });
  }
}

export class StartedRunResponse {
  @ApiProperty({ example: 42 }) runId!: number;
}
