import { PartialType } from '@nestjs/swagger';
import { CreateAppDto } from './create-app.dto';

/**
 * Every field optional; an omitted token keeps the stored one. Null is not "omitted": it is refused for
 * the fields that cannot be unset, and means "unset" for timezone and pingUrl and "never" for verifySchedule,
 * which say so themselves ("default" puts verifySchedule back on VERIFY_SCHEDULE).
 */
export class UpdateAppDto extends PartialType(CreateAppDto, { skipNullProperties: false }) {}
