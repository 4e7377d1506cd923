import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsInt, IsNotEmpty, IsString, IsTimeZone, ValidateIf, ValidateNested, Matches, Max, MaxLength, Min } from 'class-validator';
import { AppDestinationInput } from '../../destinations/dto/app-destination.dto';
import { english } from '../../common/i18n';
import { Encryption, ENCRYPTIONS, FOLLOW_VERIFY_SCHEDULE } from '../app.entity';
import { DEFAULT_ZONE, IsCronExpression, IsDestinationFolder, IsServiceUrl, ZONE_PATTERN } from '../app.validators';

/** Up to ten years of daily backups. */
const MAX_KEEP = 3660;
const KEEP_HELP = (period: string) =>
  `Also keep the newest backup of each of the last N ${period}s that have one (in the app's time zone); 0: off. ` +
  'A backup is kept if this, another calendar rule or retention keeps it.';

export const APP_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** What an HTTP header carries unchanged: a space or line break would be trimmed or refused on the way, failing every run. */
export const TOKEN_PATTERN = /^[\x21-\x7e]+$/;

// Decorators apply bottom-up and only the first failing rule is reported: the type check sits nearest
// the property so that "must be a string" wins over rules that cannot apply to a wrong type.
export class CreateAppDto {
  @ApiProperty({ example: 'billing', pattern: APP_NAME_PATTERN.source, description: 'Unique slug; names the backup files.' })
  @Matches(APP_NAME_PATTERN, { message: english('invalid.appName') })
  @IsString()
  name!: string;

  @ApiProperty({ example: 'http://billing:8000', description: 'Base URL on the internal network (http or https).' })
  @IsServiceUrl(english('invalid.appUrl'))
  url!: string;

  @ApiProperty({
    example: 's3cr3t-token',
    writeOnly: true,
    pattern: TOKEN_PATTERN.source,
    description: 'Bearer token the app expects: visible ASCII characters, no spaces. Never returned.',
  })
  @MaxLength(4096)
  @Matches(TOKEN_PATTERN, { message: english('invalid.token') })
  @IsNotEmpty()
  @IsString()
  token!: string;

  @ApiProperty({ example: '0 3 * * *', description: 'Cron: 5 fields, or 6 with seconds first. One that never fires (30 February) is refused.' })
  @IsCronExpression()
  @IsString()
  schedule!: string;

  @ApiPropertyOptional({
    example: 'Europe/Madrid',
    nullable: true,
    type: String,
    description: 'IANA time zone of the schedule; omitted or null: SCHEDULER_TIMEZONE.',
  })
  @IsTimeZone({ message: english('invalid.timezone') })
  @IsString()
  @ValidateIf((_, value) => value !== null && value !== undefined)
  timezone?: string | null;

  @ApiPropertyOptional({
    example: '1AbCdEfGhIjKlMnOpQrStUvWxYz',
    description:
      'The folder of the first destination (compatibility: without `destinations`, the app stores in `default`, RCLONE_REMOTE): ' +
      'a Google Drive folder id (letters, digits, "-", "_") on a Drive remote; otherwise a sub-folder path ' +
      'under it: no "..", ":" or "," and no leading "/" or "-". Required unless `destinations` is given; with it, it must equal ' +
      "destinations[0].folder. Changing it alone changes the first destination's folder.",
  })
  @IsDestinationFolder()
  @MaxLength(1024)
  @IsString()
  @ValidateIf((input: CreateAppDto, value) => value !== undefined || input.destinations === undefined)
  driveFolderId?: string;

  @ApiPropertyOptional({
    type: [AppDestinationInput],
    description:
      'Where each backup is stored, at once, from one export (3-2-1): one to ten destinations, each once, with the app\'s ' +
      'folder there and optional retention overrides. The first is where reads go by default. Omitted on create: ' +
      '[{destinationId: "default", folder: driveFolderId}]; on update, omitted keeps the list.',
  })
  @ValidateNested({ each: true })
  @Type(() => AppDestinationInput)
  @ArrayMaxSize(10)
  @ArrayMinSize(1)
  @IsArray()
  @ValidateIf((_, value) => value !== undefined)
  destinations?: AppDestinationInput[];

  @ApiProperty({ example: 7, minimum: 1, maximum: 1000, description: 'How many of the newest backups to keep (the calendar rules keep more).' })
  @Max(1000)
  @Min(1)
  @IsInt()
  retention!: number;

  @ApiPropertyOptional({ example: 14, minimum: 0, maximum: MAX_KEEP, default: 0, description: KEEP_HELP('day') })
  @Max(MAX_KEEP)
  @Min(0)
  @IsInt()
  @ValidateIf((_, value) => value !== undefined) // omitted means 0; null is refused: 0 already means "off"
  keepDaily?: number;

  @ApiPropertyOptional({ example: 8, minimum: 0, maximum: MAX_KEEP, default: 0, description: KEEP_HELP('ISO week (Monday to Sunday)') })
  @Max(MAX_KEEP)
  @Min(0)
  @IsInt()
  @ValidateIf((_, value) => value !== undefined)
  keepWeekly?: number;

  @ApiPropertyOptional({ example: 12, minimum: 0, maximum: MAX_KEEP, default: 0, description: KEEP_HELP('month') })
  @Max(MAX_KEEP)
  @Min(0)
  @IsInt()
  @ValidateIf((_, value) => value !== undefined)
  keepMonthly?: number;

  @ApiPropertyOptional({ example: 3, minimum: 0, maximum: MAX_KEEP, default: 0, description: KEEP_HELP('year') })
  @Max(MAX_KEEP)
  @Min(0)
  @IsInt()
  @ValidateIf((_, value) => value !== undefined)
  keepYearly?: number;

  @ApiPropertyOptional({
    example: '0 4 * * 0',
    nullable: true,
    type: String,
    default: FOLLOW_VERIFY_SCHEDULE,
    description:
      `When the newest backup is verified: "${FOLLOW_VERIFY_SCHEDULE}" (what omitting it on create means) follows VERIFY_SCHEDULE; a cron ` +
      "expression (5 fields, or 6 with seconds first, in the app's time zone) is the app's own; null: never on a schedule.",
  })
  @IsCronExpression()
  @MaxLength(128)
  @IsString()
  @ValidateIf((_, value) => value !== null && value !== undefined && value !== FOLLOW_VERIFY_SCHEDULE)
  verifySchedule?: string | null;

  @ApiPropertyOptional({
    example: 'https://hc-ping.com/0f8e7d6c-1111-2222-3333-444455556666',
    nullable: true,
    type: String,
    description: 'Dead-man switch: POSTed {url}/start when a run starts, {url} on success, {url}/fail on failure.',
  })
  @IsServiceUrl(english('invalid.url'))
  @ValidateIf((_, value) => value !== null && value !== undefined)
  pingUrl?: string | null;

  @ApiPropertyOptional({
    example: 'host-b',
    default: DEFAULT_ZONE,
    pattern: ZONE_PATTERN.source,
    description: 'Which replicas run it: those started with this REPLICA_ZONE (one Docker host and its network). Omitted on create: "default".',
  })
  @Matches(ZONE_PATTERN, { message: english('invalid.zone') })
  @IsString()
  @ValidateIf((_, value) => value !== undefined) // omitted means default; null is refused
  zone?: string;

  @ApiPropertyOptional({ example: true, default: true })
  @IsBoolean()
  @ValidateIf((_, value) => value !== undefined) // omitted means true; null is refused: there is no third state
  enabled?: boolean;

  @ApiPropertyOptional({
    enum: ENCRYPTIONS,
    default: 'none',
    example: 'rclone-crypt',
    description:
      'rclone-crypt: backups are encrypted in the stream by rclone\'s crypt backend (file names stay readable, with ".bin" ' +
      'appended) with encryptionPassphrase, or DEFAULT_ENCRYPTION_PASSPHRASE when the app has none. Changing it affects new backups only.',
  })
  @IsIn(ENCRYPTIONS, { message: english('invalid.oneOf', { values: ENCRYPTIONS.join(', ') }) })
  @ValidateIf((_, value) => value !== undefined) // omitted means none; null is refused
  encryption?: Encryption;

  @ApiPropertyOptional({
    example: 'correct horse battery staple',
    writeOnly: true,
    nullable: true,
    type: String,
    description:
      'Passphrase for rclone-crypt. Never returned (hasEncryptionPassphrase says whether one is stored); omitted keeps the ' +
      'stored one, null removes it (DEFAULT_ENCRYPTION_PASSPHRASE then applies). A change applies to new backups only: each ' +
      'backup stays readable with the passphrase it was made with.',
  })
  @MaxLength(1024)
  @IsNotEmpty()
  @IsString()
  @ValidateIf((_, value) => value !== null && value !== undefined)
  encryptionPassphrase?: string | null;

  @ApiPropertyOptional({
    example: 'http://billing-drill:8000',
    nullable: true,
    type: String,
    description:
      'Restore drills: the base URL of a scratch instance of the same app (same image, throw-away data) that backups are ' +
      'restored into, then asked GET /backup/selftest. Never the production url. null: no drills.',
  })
  @IsServiceUrl(english('invalid.url'))
  @ValidateIf((_, value) => value !== null && value !== undefined)
  drillUrl?: string | null;

  @ApiPropertyOptional({
    example: 'drill-s3cr3t',
    writeOnly: true,
    nullable: true,
    type: String,
    pattern: TOKEN_PATTERN.source,
    description: "Bearer token of the drill instance (required with drillUrl; the app's own token is never sent there). Never returned; omitted keeps the stored one, null removes it.",
  })
  @MaxLength(4096)
  @Matches(TOKEN_PATTERN, { message: english('invalid.token') })
  @IsNotEmpty()
  @IsString()
  @ValidateIf((_, value) => value !== null && value !== undefined)
  drillToken?: string | null;

  @ApiPropertyOptional({
    example: '0 5 * * 6',
    nullable: true,
    type: String,
    description: "When a restore drill of the newest backup runs on its own (cron in the app's time zone; needs drillUrl); null: only on request.",
  })
  @IsCronExpression()
  @MaxLength(128)
  @IsString()
  @ValidateIf((_, value) => value !== null && value !== undefined)
  drillSchedule?: string | null;
}
