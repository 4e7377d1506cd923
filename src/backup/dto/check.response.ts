import { ApiProperty } from '@nestjs/swagger';

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
}
