import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { errorBody } from './error.filter';

/** Reasons read "must be ..." so that "field: reason" reads as a sentence. */
export function reasonsOf(error: ValidationError): string[] {
  return Object.entries(error.constraints ?? {}).map(([constraint, text]) =>
    constraint === 'whitelistValidation' ? 'is not an accepted field' : text.replace(new RegExp(`^${error.property} `), ''),
  );
}

/** The one validation pipe: strips nothing silently (unknown fields are an error) and names each bad field. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
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
