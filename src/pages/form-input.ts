import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { reasonsOf } from '../common/validation.pipe';

/** A posted form checked with the API's own DTO, so a page and the API refuse the same things in the same words. */
export async function formInput<T extends object>(dto: new () => T, plain: Record<string, unknown>): Promise<{ ok: true; input: T } | { ok: false; message: string }> {
  const input = plainToInstance(dto, plain);
  const errors = await validate(input, { stopAtFirstError: true, whitelist: true });
  if (errors.length === 0) return { ok: true, input };
  return { ok: false, message: errors.map((error) => `${error.property}: ${reasonsOf(error).join(', ')}`).join('; ') };
}
