import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsString, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { IsDestinationFolder } from '../../apps/app.validators';
import { IsDestinationRef } from '../destination.validators';

const MAX_KEEP = 3660;
const OVERRIDE = (what: string) => `Overrides the app's ${what} in this destination; omitted or null: the app's.`;

/** One of an app's destinations, as the API takes it. */
export class AppDestinationInput {
  @ApiProperty({
    oneOf: [{ type: 'integer', example: 2 }, { type: 'string', example: 'offsite' }],
    description: 'A destination from /api/destinations, by id or by name ("default": RCLONE_REMOTE).',
  })
  @IsDestinationRef()
  destinationId!: number | string;

  @ApiProperty({ example: 'billing', description: 'The app\'s folder in it: a sub-folder path, or a folder id on Google Drive.' })
  @IsDestinationFolder()
  @MaxLength(1024)
  @IsString()
  folder!: string;

  @ApiPropertyOptional({ example: 7, nullable: true, type: Number, minimum: 1, maximum: 1000, description: OVERRIDE('retention') })
  @Max(1000)
  @Min(1)
  @IsInt()
  @ValidateIf((_, value) => value !== null && value !== undefined)
  retention?: number | null;

  @ApiPropertyOptional({ nullable: true, type: Number, minimum: 0, maximum: MAX_KEEP, description: OVERRIDE('keepDaily') })
  @Max(MAX_KEEP)
  @Min(0)
  @IsInt()
  @ValidateIf((_, value) => value !== null && value !== undefined)
  keepDaily?: number | null;

  @ApiPropertyOptional({ nullable: true, type: Number, minimum: 0, maximum: MAX_KEEP, description: OVERRIDE('keepWeekly') })
  @Max(MAX_KEEP)
  @Min(0)
  @IsInt()
  @ValidateIf((_, value) => value !== null && value !== undefined)
  keepWeekly?: number | null;

  @ApiPropertyOptional({ example: 12, nullable: true, type: Number, minimum: 0, maximum: MAX_KEEP, description: OVERRIDE('keepMonthly') })
  @Max(MAX_KEEP)
  @Min(0)
  @IsInt()
  @ValidateIf((_, value) => value !== null && value !== undefined)
  keepMonthly?: number | null;

  @ApiPropertyOptional({ nullable: true, type: Number, minimum: 0, maximum: MAX_KEEP, description: OVERRIDE('keepYearly') })
  @Max(MAX_KEEP)
  @Min(0)
  @IsInt()
  @ValidateIf((_, value) => value !== null && value !== undefined)
  keepYearly?: number | null;
}

/** One of an app's destinations, as the API shows it. */
export class AppDestinationResponse {
  @ApiProperty({ example: 2 }) destinationId!: number;
  @ApiProperty({ example: 'offsite', description: "The destination's name." }) destination!: string;
  @ApiProperty({ example: 'billing' }) folder!: string;
  @ApiProperty({ example: null, nullable: true, type: Number }) retention!: number | null;
  @ApiProperty({ example: null, nullable: true, type: Number }) keepDaily!: number | null;
  @ApiProperty({ example: null, nullable: true, type: Number }) keepWeekly!: number | null;
  @ApiProperty({ example: 12, nullable: true, type: Number }) keepMonthly!: number | null;
  @ApiProperty({ example: null, nullable: true, type: Number }) keepYearly!: number | null;
}
