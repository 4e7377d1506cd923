import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString } from 'class-validator';

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
}

export class RestoreRequest {
  @ApiProperty({ example: 'billing-20261128T030000Z.db', description: 'A file name from GET /api/apps/{id}/backups.' })
  @IsString()
  @IsNotEmpty()
  backup!: string;
}

export class VerifyRequest {
  @ApiPropertyOptional({ example: 'billing-20261128T030000Z.db', description: 'Default: the newest backup.' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  backup?: string;
}
