import { ArgumentMetadata, BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { errorBody } from './error.filter';

/** Reasons read "must be ..." so that "field: reason" reads as a sentence. */
export function reasonsOf(error: ValidationError): string[] {
  return Object.entries(error.constraints ?? {}).map(([constraint, text]) =>
    constraint === 'whitelistValidation' ? 'is not an accepted field' : text.replace(new RegExp(`^${error.property} `), ''),
  );
}

/** The one validation pipe: strips nothing silently (unknown fields are an error) and names each bad field. */
export function createValidationPipe(): ValidationPipe {
  return new BodyAndQueryValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: true,
    exceptionFactory: (errors) => {
      const details = errors.map((error) => ({ field: error.property, reasons: reasonsOf(error) }));
      const message = details.map((d) => `${d.field}: ${d.reasons.join(', ')}`).join('; ');
      return new BadRequestException(errorBody(400, message, details));
    },
  });
}

/** Path parameters are checked by their own pipes (AppIdPipe…), which need the raw text to report it. */
class BodyAndQueryValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    return metadata.type === 'param' ? Promise.resolve(value) : super.transform(value, metadata);
  }
}
