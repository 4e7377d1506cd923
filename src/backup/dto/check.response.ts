import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString } from 'class-validator';

export class CheckResponse {
  @ApiProperty({ example: true }) ok!: boolean;
  @ApiProperty({ type: [String], example: ['v1'] }) versions!: string[];
  @ApiProperty({ example: 'sqlite', nullable: true, type: String }) type!: string | null;
  @ApiProperty({ example: null, nullable: true, type: String }) error!: string | null;
}

export class BackupFileResponse {
  @ApiProperty({ example: 'billing-20261128T030000Z.db' }) name!: string;
  @ApiProperty({ example: 104857600 }) size!: number;
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
