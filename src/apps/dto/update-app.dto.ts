import { PartialType } from '@nestjs/swagger';
import { CreateAppDto } from './create-app.dto';

/**
 * Every field optional; an omitted token keeps the stored one. Null is not "omitted": it is refused for
 * the fields that cannot be unset, and means "unset" for timezone and pingUrl, which say so themselves.
 */
export class UpdateAppDto extends PartialType(CreateAppDto, { skipNullProperties: false }) {}
