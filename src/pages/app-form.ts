import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { AppEntity, FOLLOW_VERIFY_SCHEDULE } from '../apps/app.entity';
import { DEFAULT_ZONE } from '../apps/app.validators';
import { CreateAppDto } from '../apps/dto/create-app.dto';
import { UpdateAppDto } from '../apps/dto/update-app.dto';
import { InvalidFieldsError } from '../common/errors';
import { reasonsOf } from '../common/validation.pipe';
import { RETENTION_FIELDS } from '../destinations/destination.entity';

export const FORM_FIELDS = [
  'name', 'url', 'token', 'schedule', 'timezone', 'zone', 'driveFolderId', 'retention', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly',
  'pingUrl', 'verifySchedule', 'enabled', 'encryption', 'encryptionPassphrase', 'drillUrl', 'drillToken', 'drillSchedule',
] as const;

const KEEP_FIELDS = ['keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
/** What the form's verifySchedule field takes for "never on a schedule" (the API's null); blank follows VERIFY_SCHEDULE. */
export const VERIFY_OFF = 'off';

/** What the admin typed, to show again next to the errors (never the token or the passphrase). */
export type FormValues = Partial<Record<(typeof FORM_FIELDS)[number], string | boolean>>;

/** One row of the form's destinations: blank folder = not used; blank override = the app's rule. */
export interface DestinationRow {
  id: number;
  name: string;
  first: boolean;
  folder: string;
  overrides: Record<(typeof RETENTION_FIELDS)[number], string>;
}

export type FormResult<T> = { ok: true; input: T; values: FormValues } | { ok: false; values: FormValues; errors: Record<string, string> };

/**
 * The form's destinations: one row per destination (`destOrder` lists them), `destFolder-<id>` and the
 * overrides `dest-retention-<id>`…; `firstDestination` is the first one (reads default to it), whose folder
 * is driveFolderId. Null when the form has no rows (an older form, a script): then driveFolderId alone is
 * the folder in the app's first destination.
 */
export function destinationRowsOf(body: Record<string, unknown>, names: Map<number, string>): DestinationRow[] | null {
  const text = (field: string) => (typeof body[field] === 'string' ? (body[field] as string).trim() : '');
  const ids = text('destOrder').split(',').filter((id) => /^\d+$/.test(id)).map(Number);
  if (ids.length === 0) return null;
  const first = Number(text('firstDestination'));
  return ids.map((id) => ({
    id,
    name: names.get(id) ?? String(id),
    first: id === first,
    // The first one's folder is the form's driveFolderId field (as in the API, kept for compatibility).
    folder: id === first ? text('driveFolderId') : text(`destFolder-${id}`),
    overrides: Object.fromEntries(RETENTION_FIELDS.map((field) => [field, text(`dest-${field}-${id}`)])) as DestinationRow['overrides'],
  }));
}

/** The API's `destinations` from the rows: the used ones, the first one first. */
function destinationsOf(rows: DestinationRow[]): Record<string, unknown>[] {
  const used = rows.filter((row) => row.folder !== '');
  used.sort((a, b) => Number(b.first) - Number(a.first));
  const number = (value: string) => (value === '' ? null : /^-?\d+$/.test(value) ? Number(value) : value);
  return used.map((row) => ({
    destinationId: row.id,
    folder: row.folder,
    ...Object.fromEntries(RETENTION_FIELDS.map((field) => [field, number(row.overrides[field])])),
  }));
}

/**
 * Turns the posted form into the API's DTO (so the same rules apply) and validates it. Strings become
 * numbers and booleans as a form means them; a blank token on edit and a blank time zone mean "keep"
 * and "the default" (so does a blank zone); a blank verification schedule follows VERIFY_SCHEDULE and "off" opts out.
 */
export async function parseAppForm(body: Record<string, unknown>, editing: boolean, rows: DestinationRow[] | null = null): Promise<FormResult<CreateAppDto | UpdateAppDto>> {
  const text = (field: string) => (typeof body[field] === 'string' ? (body[field] as string).trim() : '');
  const values: FormValues = {
    name: text('name'),
    url: text('url'),
    schedule: text('schedule'),
    timezone: text('timezone'),
    zone: text('zone'),
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
    zone: values.zone || DEFAULT_ZONE,
    pingUrl: values.pingUrl || null,
    drillUrl: values.drillUrl || null,
    drillSchedule: values.drillSchedule || null,
    retention: number('retention'),
    // Blank calendar rules are off, like the API's omitted ones.
    ...Object.fromEntries(KEEP_FIELDS.map((field) => [field, text(field) === '' ? 0 : number(field)])),
    verifySchedule: verifySchedule === '' ? FOLLOW_VERIFY_SCHEDULE : verifySchedule.toLowerCase() === VERIFY_OFF ? null : verifySchedule,
  };
  if (rows) plain.destinations = destinationsOf(rows);
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
  return { ok: false, values, errors: Object.fromEntries(errors.map((error) => [error.property, reasonsOf(error).join(', ') || nestedReasons(error)])) };
}

/** A nested field's reasons (a destination's folder), named by its row. */
function nestedReasons(error: { children?: { property: string; children?: unknown[]; constraints?: Record<string, string> }[] }): string {
  return (error.children ?? []).flatMap((row) => (row.children as typeof error.children ?? []).map((field) =>
    `${field.property}: ${Object.values(field.constraints ?? {}).join(', ')}`)).join('; ');
}

/**
 * Parses the form and saves it; refused either way (the DTO's rules, or the registry's rules that need the
 * app's zone or the remote's type) it comes back with each field's error, to show beside that field.
 */
export async function submitAppForm(
  body: Record<string, unknown>,
  editing: boolean,
  save: (input: CreateAppDto | UpdateAppDto) => Promise<AppEntity>,
  rows: DestinationRow[] | null = null,
): Promise<{ ok: true; app: AppEntity } | { ok: false; values: FormValues; errors: Record<string, string> }> {
  const form = await parseAppForm(body, editing, rows);
  if (!form.ok) return form;
  try {
    return { ok: true, app: await save(form.input) };
  } catch (error) {
    if (!(error instanceof InvalidFieldsError)) throw error;
    return { ok: false, values: form.values, errors: Object.fromEntries(error.details.map(({ field, reasons }) => [field, reasons.join(', ')])) };
  }
}
