import { ArgumentMetadata, BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldProblem, InvalidFieldsError } from './errors';
import { english } from './i18n';

/**
 * No body of this API nests more than a few levels; class-transformer and class-validator recurse once per
 * level, so a deeper body (a few kilobytes of "[[[[…") would overflow the stack and answer 500.
 */
const MAX_BODY_DEPTH = 32;

/** Reasons read "must be ..." so that "field: reason" reads as a sentence. */
export function reasonsOf(error: ValidationError): string[] {
  return Object.entries(error.constraints ?? {}).map(([constraint, text]) =>
    constraint === 'whitelistValidation' ? english('invalid.notAccepted') : text.replace(new RegExp(`^${error.property} `), ''),
  );
}

/** The one validation pipe: strips nothing silently (unknown fields are an error) and names each bad field. */
export function createValidationPipe(): ValidationPipe {
  return new BodyAndQueryValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: true,
    exceptionFactory: (errors) => new InvalidFieldsError(errors.flatMap((error) => problemsOf(error, error.property))),
  });
}

/** A nested field is named by its path, as in `destinations[1].folder`. */
function problemsOf(error: ValidationError, field: string): FieldProblem[] {
  const own = error.constraints ? [{ field, reasons: reasonsOf(error) }] : [];
  const nested = (error.children ?? []).flatMap((child) => problemsOf(child, /^\d+$/.test(child.property) ? `${field}[${child.property}]` : `${field}.${child.property}`));
  return own.length > 0 || nested.length > 0 ? [...own, ...nested] : [{ field, reasons: reasonsOf(error) }];
}

/** Path parameters are checked by their own pipes (AppIdPipe…), which need the raw text to report it. */
class BodyAndQueryValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'param') return Promise.resolve(value);
    if (metadata.type === 'body' && nestedDeeperThan(value, MAX_BODY_DEPTH)) {
      throw new BadRequestException(english('failure.tooDeep'));
    }
    return super.transform(value, metadata);
  }
}

/** Looks no deeper than `limit` levels, so that the check itself cannot overflow. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit === 0) return true;
  return Object.values(value).some((child) => nestedDeeperThan(child, limit - 1));
}
