import { isAbsolute } from 'node:path';
import { registerDecorator, ValidationOptions } from 'class-validator';
import { english } from '../common/i18n';

/**
 * Why a destination's remote is refused, or null: an absolute local folder, or an rclone remote spec
 * ("name:path", ":backend,opt=x:path"). Whether rclone knows the remote is for the check to say.
 */
export function remoteProblem(remote: string): string | null {
  // eslint-disable-next-line no-control-regex
  if (remote.trim() === '' || /[\u0000-\u001f\u007f]/.test(remote)) return english('invalid.remoteSpec');
  if (remote.startsWith('-')) return english('invalid.remoteSpec');
  if (isAbsolute(remote)) return remote.split('/').includes('..') ? english('invalid.folderDotDot') : null;
  return /^:?[\w.][\w. -]*(,[^:]*)?:/.test(remote) ? null : english('invalid.remoteSpec');
}

export function IsRemoteSpec(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isRemoteSpec',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && remoteProblem(value) === null,
        defaultMessage: (args) => (typeof args?.value === 'string' ? (remoteProblem(args.value) ?? '') : `${args?.property} must be a string`),
      },
    });
}

/** A destination named in a request: its id (a positive integer, or digits) or its name. */
export function IsDestinationRef(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isDestinationRef',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (value: unknown) =>
          (typeof value === 'number' && Number.isInteger(value) && value > 0) || (typeof value === 'string' && /^[a-z0-9][a-z0-9-]{0,62}$/.test(value)),
        defaultMessage: () => english('invalid.destinationRef'),
      },
    });
}
