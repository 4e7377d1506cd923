import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { AppEntity, FOLLOW_VERIFY_SCHEDULE } from '../apps/app.entity';
import { CreateAppDto } from '../apps/dto/create-app.dto';
import { UpdateAppDto } from '../apps/dto/update-app.dto';
import { InvalidFieldsError } from '../common/errors';
import { reasonsOf } from '../common/validation.pipe';

export const FORM_FIELDS = [
  'name', 'url', 'token', 'schedule', 'timezone', 'driveFolderId', 'retention', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly',
  'pingUrl', 'verifySchedule', 'enabled', 'encryption', 'encryptionPassphrase', 'drillUrl', 'drillToken', 'drillSchedule',
] as const;

const KEEP_FIELDS = ['keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
/** What the form's verifySchedule field takes for "never on a schedule" (the API's null); blank follows VERIFY_SCHEDULE. */
export const VERIFY_OFF = 'off';

/** What the admin typed, to show again next to the errors (never the token or the passphrase). */
export type FormValues = Partial<Record<(typeof FORM_FIELDS)[number], string | boolean>>;

export type FormResult<T> = { ok: true; input: T; values: FormValues } | { ok: false; values: FormValues; errors: Record<string, string> };

/**
 * Turns the posted form into the API's DTO (so the same rules apply) and validates it. Strings become
 * numbers and booleans as a form means them; a blank token on edit and a blank time zone mean "keep"
 * and "the default"; a blank verification schedule follows VERIFY_SCHEDULE and "off" opts out.
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
    verifySchedule: text('verifySchedule'),
    drillUrl: text('drillUrl'),
    drillSchedule: text('drillSchedule'),
    ...Object.fromEntries(KEEP_FIELDS.map((field) => [field, text(field)])),
    enabled: body.enabled === 'on' || body.enabled === 'true',
    encryption: text('encryption') || 'none',
  };
  const number = (field: string) => (/^-?\d+$/.test(text(field)) ? Number(text(field)) : text(field));
  const verifySchedule = text('verifySchedule');
  const plain: Record<string, unknown> = {
    ...values,
    timezone: values.timezone || null,
    pingUrl: values.pingUrl || null,
    drillUrl: values.drillUrl || null,
    drillSchedule: values.drillSchedule || null,
    retention: number('retention'),
    // Blank calendar rules are off, like the API's omitted ones.
    ...Object.fromEntries(KEEP_FIELDS.map((field) => [field, text(field) === '' ? 0 : number(field)])),
    verifySchedule: verifySchedule === '' ? FOLLOW_VERIFY_SCHEDULE : verifySchedule.toLowerCase() === VERIFY_OFF ? null : verifySchedule,
  };
  if (!editing || text('token') !== '') plain.token = text('token');
  // Write-only like the token: blank keeps the stored one.
  if (text('drillToken') !== '') plain.drillToken = text('drillToken');
  // Write-only like the token: blank keeps the stored one (or, for a new app, means DEFAULT_ENCRYPTION_PASSPHRASE).
  // Not trimmed: spaces may be part of a passphrase.
  const passphrase = typeof body.encryptionPassphrase === 'string' ? body.encryptionPassphrase : '';
  if (passphrase !== '') plain.encryptionPassphrase = passphrase;
  const input = plainToInstance(editing ? UpdateAppDto : CreateAppDto, plain);
  const errors = await validate(input, { stopAtFirstError: true });
  if (errors.length === 0) return { ok: true, input, values };
  return { ok: false, values, errors: Object.fromEntries(errors.map((error) => [error.property, reasonsOf(error).join(', ')])) };
}

/**
 * Parses the form and saves it; refused either way (the DTO's rules, or the registry's rules that need the
 * app's zone or the remote's type) it comes back with each field's error, to show beside that field.
 */
export async function submitAppForm(
  body: Record<string, unknown>,
  editing: boolean,
  save: (input: CreateAppDto | UpdateAppDto) => Promise<AppEntity>,
): Promise<{ ok: true; app: AppEntity } | { ok: false; values: FormValues; errors: Record<string, string> }> {
  const form = await parseAppForm(body, editing);
  if (!form.ok) return form;
  try {
    return { ok: true, app: await save(form.input) };
  } catch (error) {
    if (!(error instanceof InvalidFieldsError)) throw error;
    return { ok: false, values: form.values, errors: Object.fromEntries(error.details.map(({ field, reasons }) => [field, reasons.join(', ')])) };
  }
}
