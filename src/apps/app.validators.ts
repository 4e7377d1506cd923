import { validateCronExpression } from 'cron';
import { registerDecorator, ValidationOptions } from 'class-validator';

/** Why a cron expression is refused, or null when the scheduler's own parser accepts it. */
export function cronProblem(expression: string): string | null {
  const fields = expression.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    return `must have 5 fields (minute hour day month weekday), or 6 with seconds first; got ${fields}`;
  }
  const { valid, error } = validateCronExpression(expression);
  return valid ? null : `is not a valid cron expression: ${error?.message ?? 'rejected by the scheduler'}`;
}

/** Why a destination folder is refused, or null. It is a Drive folder id or a path under RCLONE_REMOTE. */
export function folderProblem(folder: string): string | null {
  if (folder.trim() === '') return 'must not be empty';
  if (folder.startsWith('/')) return 'must not start with "/": it is relative to RCLONE_REMOTE';
  if (folder.split(/[\\/]/).includes('..')) return 'must not contain ".." segments';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(folder)) return 'must not contain control characters';
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
