import { applyDecorators } from '@nestjs/common';
import { CronTime, validateCronExpression } from 'cron';
import { IsString, IsUrl, MaxLength, registerDecorator, ValidationOptions } from 'class-validator';
import { english } from '../common/i18n';

/** A zone (REPLICA_ZONE, an app's `zone`): a slug, like app names, short enough for a pg-boss queue name. */
export const ZONE_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;
export const DEFAULT_ZONE = 'default';

/**
 * An address the service calls (an app's url, its drill instance's, a ping URL): http or https on the internal
 * network, whose host names may have no TLD and may hold underscores. Listed in the order a field's own decorators
 * would apply (bottom-up), so that the type check is still the one reported for a wrong type.
 */
export const IsServiceUrl = (message: string) =>
  applyDecorators(
    IsString(),
    MaxLength(2048),
    IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false, allow_underscores: true }, { message }),
  );

/** Why the scheduler's library could not schedule an expression, in one line. */
export function cronFailure(error: unknown): string {
  const message = (error as Error).message;
  // cron's own text is several lines asking for a bug report; the cause is a date that does not exist.
  if (message.includes('No execution date was found')) return english('invalid.cronNeverFires');
  return message.split('\n')[0].trim();
}

/**
 * Why a cron expression is refused, or null when the scheduler's own library accepts it and finds its next
 * firing in `timezone`. The API checks in UTC first, then the registry in the app's own zone.
 */
export function cronProblem(expression: string, timezone = 'UTC'): string | null {
  const fields = expression.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    return english('invalid.cronFields', { count: fields });
  }
  const { valid, error } = validateCronExpression(expression);
  if (!valid) return english('invalid.cron', { reason: error?.message ?? 'rejected by the scheduler' });
  try {
    new CronTime(expression, timezone).getNextDateFrom(new Date());
    return null;
  } catch (failure) {
    return cronFailure(failure);
  }
}

/**
 * Why a destination folder is refused whatever the remote, or null. It is a Drive folder id or a path under
 * RCLONE_REMOTE; the rules that depend on which (BackupLocations.folderProblem) need rclone and run later.
 */
export function folderProblem(folder: string): string | null {
  if (folder.trim() === '') return english('invalid.folderEmpty');
  if (folder.startsWith('/')) return english('invalid.folderAbsolute');
  if (folder.split(/[\\/]/).includes('..')) return english('invalid.folderDotDot');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(folder)) return english('invalid.folderControl');
  // Neither a Drive id nor a sane folder name has them; in an rclone path they start a remote or its options.
  if (/[:,]/.test(folder)) return english('invalid.folderSeparators');
  return null;
}

function problemDecorator(name: string, problem: (value: string) => string | null) {
  return (options?: ValidationOptions): PropertyDecorator =>
    (target, propertyName) =>
      registerDecorator({
        name,
        target: target.constructor,
        propertyName: propertyName as string,
        options,
        validator: {
          validate: (value: unknown) => typeof value === 'string' && problem(value) === null,
          defaultMessage: (args) =>
            typeof args?.value === 'string' ? (problem(args.value) ?? '') : `${args?.property} must be a string`,
        },
      });
}

export const IsCronExpression = problemDecorator('isCronExpression', cronProblem);
export const IsDestinationFolder = problemDecorator('isDestinationFolder', folderProblem);
