import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { Role, ROLES } from '../../auth/roles';
import type { UserEntity } from '../user.entity';

const ROLE_MESSAGE = { message: `must be one of ${ROLES.join(', ')}` };

export class CreateUserDto {
  @ApiProperty({ example: 'maria', description: '1-64 characters: letters, digits, . _ @ -' })
  @Matches(/^[A-Za-z0-9._@-]{1,64}$/, { message: 'must be 1-64 letters, digits or . _ @ -' })
  @IsString()
  username!: string;

  @ApiProperty({ example: 'correct horse battery', writeOnly: true, description: '8-256 characters; stored as a scrypt hash, never returned.' })
  @MaxLength(256)
  @MinLength(8)
  @IsString()
  password!: string;

  @ApiProperty({ enum: ROLES, example: 'operator' })
  @IsIn(ROLES, ROLE_MESSAGE)
  role!: Role;
}

export class UpdateUserDto {
  @ApiPropertyOptional({ writeOnly: true, description: 'A new password (8-256 characters); ends the user\'s sessions.' })
  @MaxLength(256)
  @MinLength(8)
  @IsString()
  @IsOptional()
  password?: string;

  @ApiPropertyOptional({ enum: ROLES })
  @IsIn(ROLES, ROLE_MESSAGE)
  @IsOptional()
  role?: Role;
}

export class UserResponse {
  @ApiProperty({ example: 3 }) id!: number;
  @ApiProperty({ example: 'maria' }) username!: string;
  @ApiProperty({ enum: ROLES, example: 'operator' }) role!: Role;
  @ApiProperty({ example: '2026-11-28T03:00:00.000Z' }) createdAt!: Date;
  @ApiProperty({ example: '2026-11-28T03:00:00.000Z' }) updatedAt!: Date;

  static from(user: UserEntity): UserResponse {
    return { id: user.id, username: user.username, role: user.role as Role, createdAt: user.createdAt, updatedAt: user.updatedAt };
  }
}
