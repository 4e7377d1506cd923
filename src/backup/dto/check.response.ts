import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsNotEmpty, IsOptional, IsString } from 'class-validator';
import { KEEP_REASONS } from '../backup-names';
import { AppVersionResponse } from './run.response';
import { IsDestinationRef } from '../../destinations/destination.validators';

export class CheckResponse {
  @ApiProperty({ example: true }) ok!: boolean;
  @ApiProperty({ type: [String], example: ['v1'] }) versions!: string[];
  @ApiProperty({ example: 'sqlite', nullable: true, type: String }) type!: string | null;
  @ApiProperty({ example: null, nullable: true, type: String }) error!: string | null;
}

export class BackupFileResponse {
  @ApiProperty({ example: 'billing-20261128T030000Z.db', description: 'The backup\'s name (an encrypted one is stored as this name + ".bin").' })
  name!: string;
  @ApiProperty({ example: 104857600, description: 'Bytes of the backup itself (decrypted, for an encrypted one).' }) size!: number;
  @ApiProperty({ example: false, description: 'Stored encrypted by rclone crypt; restore, verify and download decrypt it.' }) encrypted!: boolean;
  @ApiProperty({ example: '2026-11-28T03:00:09.000Z' }) modifiedAt!: string;
  @ApiProperty({ example: true, nullable: true, type: Boolean, description: 'Outcome of the latest verification; null: never verified.' })
  verified!: boolean | null;
  @ApiProperty({ example: '2026-11-29T04:00:00.000Z', nullable: true, type: Date }) verifiedAt!: Date | null;
  @ApiProperty({
    example: ['last', 'weekly'],
    enum: KEEP_REASONS,
    isArray: true,
    description:
      'What keeps this file when the next successful run applies retention; empty: that run deletes it. last: among the ' +
      '`retention` newest; daily, weekly, monthly, yearly: the newest of its day, ISO week, month or year within the ' +
      "calendar rules (in the app's time zone); recorded: kept only so that `retention` backups recorded as succeeded " +
      'remain; future: named later than now, left alone. The newest file stands for the run; newer backups can still push a kept file out.',
  })
  keptBy!: string[];
  @ApiProperty({
    type: AppVersionResponse,
    nullable: true,
    description: "The app's version when this backup was made, as its capabilities said (`app`); null when it said none.",
  })
  app!: AppVersionResponse | null;
}

const DESTINATION_HELP = "The destination to read, by id or name, among the app's (default: its first).";

export class RestoreRequest {
  @ApiProperty({ example: 'billing-20261128T030000Z.db', description: 'A file name from GET /api/apps/{id}/backups.' })
  @IsString()
  @IsNotEmpty()
  backup!: string;

  @ApiPropertyOptional({
    example: false,
    default: false,
    description:
      "Restore even a backup made with a newer schemaVersion than the app announces now (refused with 400 otherwise). " +
      'Versions are compared naturally: runs of digits as numbers, the rest as text.',
  })
  @IsOptional()
  @IsBoolean()
  force?: boolean;

  @ApiPropertyOptional({ oneOf: [{ type: 'integer' }, { type: 'string' }], example: 'offsite', description: DESTINATION_HELP })
  @IsDestinationRef()
  @IsOptional()
  destination?: string | number;
}

/** GET /api/apps/{id}/backups and the download: which destination to list or read. */
export class DestinationQuery {
  @ApiPropertyOptional({ example: 'offsite', description: DESTINATION_HELP })
  @IsDestinationRef()
  @IsOptional()
  destination?: string;
}

export class VerifyRequest {
  @ApiPropertyOptional({ example: 'billing-20261128T030000Z.db', description: 'Default: the newest backup.' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  backup?: string;

  @ApiPropertyOptional({ oneOf: [{ type: 'integer' }, { type: 'string' }], example: 'offsite', description: DESTINATION_HELP })
  @IsDestinationRef()
  @IsOptional()
  destination?: string | number;
}

/** A drill reads like a verification: the named backup or the newest recorded one, from the app's first destination by default. */
export class DrillRequest extends VerifyRequest {}
