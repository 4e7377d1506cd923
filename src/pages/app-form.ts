import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { CreateAppDto } from '../apps/dto/create-app.dto';
import { UpdateAppDto } from '../apps/dto/update-app.dto';
import { reasonsOf } from '../common/validation.pipe';

export const FORM_FIELDS = ['name', 'url', 'token', 'schedule', 'timezone', 'driveFolderId', 'retention', 'pingUrl', 'enabled'] as const;

/** What the admin typed, to show again next to the errors (never the token). */
export type FormValues = Partial<Record<(typeof FORM_FIELDS)[number], string | boolean>>;

export type FormResult<T> = { ok: true; input: T } | { ok: false; values: FormValues; errors: Record<string, string> };

/**
 * Turns the posted form into the API's DTO (so the same rules apply) and validates it. Strings become
 * numbers and booleans as a form means them; a blank token on edit and a blank time zone mean "keep"
 * and "the default".
 */
export async function parseAppForm(body: Record<string, unknown>, editing: boolean): Promise<FormResult<CreateAppDto | UpdateAppDto>> {
  const text = (field: string) => (typeof body[field] === 'string' ? (body[field] as string).trim() : '');
  const values: FormValues = {
    name: text('name'),
    url: text('url'),
    schedule: text('schedule'),
    timezone: text('timezone'),
    driveFolderId: text('driveFolderId'),
    retention: text('retention'),
    pingUrl: text('pingUrl'),
    enabled: body.enabled === 'on' || body.enabled === 'true',
  };
  const plain: Record<string, unknown> = {
    ...values,
    timezone: values.timezone || null,
    pingUrl: values.pingUrl || null,
    retention: /^-?\d+$/.test(text('retention')) ? Number(text('retention')) : text('retention'),
  };
  if (!editing || text('token') !== '') plain.token = text('token');
  const input = plainToInstance(editing ? UpdateAppDto : CreateAppDto, plain);
  const errors = await validate(input, { stopAtFirstError: true });
  if (errors.length === 0) return { ok: true, input };
  return { ok: false, values, errors: Object.fromEntries(errors.map((error) => [error.property, reasonsOf(error).join(', ')])) };
}
