import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsIn, IsOptional, IsString, Matches, MaxLength, MinDate } from 'class-validator';
import type { ApiKeyEntity } from './api-key.entity';
import { Role, ROLES } from './roles';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'ci-deploy', description: '1-100 characters, unique: the audit log names the key by it.' })
  @Matches(/^[\p{L}\p{N} ._@:-]{1,100}$/u, { message: 'must be 1-100 letters, digits, spaces or . _ @ : -' })
  @MaxLength(100)
  @IsString()
  name!: string;

  @ApiProperty({ enum: ROLES, example: 'operator' })
  @IsIn(ROLES, { message: `must be one of ${ROLES.join(', ')}` })
  role!: Role;

  @ApiPropertyOptional({ example: '2027-06-30T00:00:00Z', type: Date, description: 'When the key stops working; omitted: never.' })
  @MinDate(() => new Date(), { message: 'must be in the future' })
  @IsDate({ message: 'must be an ISO 8601 date, e.g. 2027-06-30T00:00:00Z' })
  @Type(() => Date)
  @IsOptional()
  expiresAt?: Date;
}

export class ApiKeyResponse {
  @ApiProperty({ example: 4 }) id!: number;
  @ApiProperty({ example: 'ci-deploy' }) name!: string;
  @ApiProperty({ enum: ROLES, example: 'operator' }) role!: Role;
  @ApiProperty({ example: 'ao_1a2b3c4d', description: 'The first characters of the key, to recognise it.' }) prefix!: string;
  @ApiProperty({ example: '2026-11-28T03:00:00.000Z' }) createdAt!: Date;
  @ApiProperty({ example: null, nullable: true, type: Date }) lastUsedAt!: Date | null;
  @ApiProperty({ example: null, nullable: true, type: Date }) expiresAt!: Date | null;

  static from(key: ApiKeyEntity): ApiKeyResponse {
    return { id: key.id, name: key.name, role: key.role as Role, prefix: key.prefix, createdAt: key.createdAt, lastUsedAt: key.lastUsedAt, expiresAt: key.expiresAt };
  }
}

export class CreatedApiKeyResponse extends ApiKeyResponse {
  @ApiProperty({ example: 'ao_1a2b3c4d_Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV4cXV1eHF1dXo', description: 'The key itself: shown this once, stored only hashed.' })
  key!: string;
}
