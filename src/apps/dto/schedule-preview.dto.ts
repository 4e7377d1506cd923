import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsOptional, IsString, IsTimeZone, MaxLength } from 'class-validator';
import { english, LOCALES } from '../../common/i18n';

export class SchedulePreviewQuery {
  @ApiProperty({ example: '0 3 * * *', description: 'The cron expression as typed: 5 fields, or 6 with seconds first.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  cron!: string;

  @ApiPropertyOptional({ example: 'Europe/Madrid', description: 'IANA time zone; omitted or blank: SCHEDULER_TIMEZONE.' })
  @IsOptional()
  @IsTimeZone({ message: english('invalid.timezone') })
  timezone?: string;

  @ApiPropertyOptional({ enum: LOCALES, default: 'en', description: 'Language of the description and the error.' })
  @IsOptional()
  @IsIn(LOCALES)
  locale?: string;
}

export class SchedulePreviewResponse {
  @ApiProperty({ example: true, description: 'Whether the scheduler accepts the expression (the same check as saving an app).' })
  valid!: boolean;
  @ApiPropertyOptional({ example: 'must have 5 fields (minute hour day month weekday), or 6 with seconds first; got 3' })
  error?: string;
  @ApiProperty({ type: [String], example: ['2026-11-30T02:00:00.000Z', '2026-12-01T02:00:00.000Z', '2026-12-02T02:00:00.000Z'], description: 'The next three firings; empty when invalid.' })
  next!: string[];
  @ApiProperty({ example: 'At 03:00', description: 'The expression in words; empty when invalid.' })
  description!: string;
  @ApiProperty({ example: 'Europe/Madrid', description: 'The zone the firings were computed in.' })
  timezone!: string;
}
