import { PartialType } from '@nestjs/swagger';
import { CreateAppDto } from './create-app.dto';

/** Every field optional; an omitted token keeps the stored one. */
export class UpdateAppDto extends PartialType(CreateAppDto) {}
