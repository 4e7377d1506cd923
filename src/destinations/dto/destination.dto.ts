import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import { Encryption, ENCRYPTIONS } from '../../apps/app.entity';
import { hideSecrets } from '../../common/connection-secrets';
import { english } from '../../common/i18n';
import { DestinationEntity } from '../destination.entity';
import { IsRemoteSpec } from '../destination.validators';

/** A letter first, so that a destination is named by its id (digits) or its name without doubt. */
export const DESTINATION_NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

export class CreateDestinationDto {
  @ApiProperty({ example: 'offsite', pattern: DESTINATION_NAME_PATTERN.source, description: 'Unique; "default" is the built-in one (RCLONE_REMOTE).' })
  @Matches(DESTINATION_NAME_PATTERN, { message: english('invalid.destinationName') })
  @IsString()
  name!: string;

  @ApiProperty({
    example: 'b2:my-bucket/backups',
    description:
      'An rclone remote spec ("gdrive:", "b2:bucket/path", a remote from RCLONE_CONFIG, or an on-the-fly ":webdav,url=…:") ' +
      'or an absolute local folder. Each app stores its copies in a folder under it.',
  })
  @IsRemoteSpec()
  @MaxLength(2048)
  @IsString()
  remote!: string;

  @ApiPropertyOptional({
    enum: ENCRYPTIONS,
    default: 'none',
    description:
      'rclone-crypt: copies stored here are encrypted with encryptionPassphrase (or DEFAULT_ENCRYPTION_PASSPHRASE), ' +
      "unless the app encrypts its backups itself (the app's passphrase then applies everywhere).",
  })
  @IsIn(ENCRYPTIONS, { message: english('invalid.oneOf', { values: ENCRYPTIONS.join(', ') }) })
  @ValidateIf((_, value) => value !== undefined)
  encryption?: Encryption;

  @ApiPropertyOptional({ writeOnly: true, nullable: true, type: String, description: 'Never returned; null removes it.' })
  @MaxLength(1024)
  @IsNotEmpty()
  @IsString()
  @ValidateIf((_, value) => value !== null && value !== undefined)
  encryptionPassphrase?: string | null;
}

export class UpdateDestinationDto extends PartialType(CreateDestinationDto, { skipNullProperties: false }) {}

export class DestinationResponse {
  @ApiProperty({ example: 2 }) id!: number;
  @ApiProperty({ example: 'offsite' }) name!: string;
  @ApiProperty({ example: 'b2:my-bucket/backups', description: 'Secrets in an inline connection string are shown as ***.' }) remote!: string;
  @ApiProperty({ example: false, description: 'The built-in destination: RCLONE_REMOTE; it cannot be changed or deleted here.' }) builtIn!: boolean;
  @ApiProperty({ enum: ENCRYPTIONS, example: 'none' }) encryption!: Encryption;
  @ApiProperty({ example: false }) hasEncryptionPassphrase!: boolean;
  @ApiProperty({ example: 3, description: 'How many apps store copies here.' }) apps!: number;
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;

  static from(destination: DestinationEntity, remote: string, apps: number): DestinationResponse {
    const { encryptionPassphraseEncrypted, ...visible } = destination;
    return Object.assign(new DestinationResponse(), visible, {
      remote: hideSecrets(remote),
      builtIn: destination.remote === null,
      hasEncryptionPassphrase: encryptionPassphraseEncrypted !== null,
      apps,
    });
  }
}

export class DestinationCheckResponse {
  @ApiProperty({ example: true }) ok!: boolean;
  @ApiProperty({ example: 'b2', nullable: true, type: String, description: 'The rclone backend ("local" for a folder).' }) type!: string | null;
  @ApiProperty({ example: null, nullable: true, type: String }) error!: string | null;
}
