import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { AuditEntryEntity } from './audit-entry.entity';

export class AuditQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @Max(500) @Min(1) @IsInt() @Type(() => Number) @IsOptional()
  limit = 50;

  @ApiPropertyOptional({ description: 'Entries older than this entry id (the last id of the previous page).' })
  @Min(1) @IsInt() @Type(() => Number) @IsOptional()
  before?: number;

  @ApiPropertyOptional({ example: 'ci-deploy', description: 'Exactly this actor: a user name, an API key name or schedule.' })
  @MaxLength(200) @IsString() @IsOptional()
  actor?: string;

  @ApiPropertyOptional({ example: 'app.delete', description: 'Exactly this action.' })
  @MaxLength(64) @IsString() @IsOptional()
  action?: string;
}

export class AuditEntryResponse {
  @ApiProperty({ example: 812 }) id!: number;
  @ApiProperty({ example: '2026-11-28T03:00:00.000Z' }) at!: Date;
  @ApiProperty({ example: 'maria' }) actor!: string;
  @ApiProperty({ enum: ['env', 'user', 'key', 'sso', 'schedule', 'anonymous'] }) actorKind!: string;
  @ApiProperty({ example: '10.0.0.7', nullable: true, type: String }) address!: string | null;
  @ApiProperty({ example: 'app.update' }) action!: string;
  @ApiProperty({ example: 'app:3', nullable: true, type: String }) target!: string | null;
  @ApiProperty({ example: { fields: { retention: 14, token: '[redacted]' } }, nullable: true, type: Object, description: 'Fields sent, secrets redacted.' })
  details!: Record<string, unknown> | null;
  @ApiProperty({ enum: ['success', 'failure', 'denied'] }) outcome!: string;
  @ApiProperty({ example: 200, nullable: true, type: Number }) status!: number | null;

  static from(entry: AuditEntryEntity): AuditEntryResponse {
    return { ...entry, details: entry.details ? (JSON.parse(entry.details) as Record<string, unknown>) : null };
  }
}
