import { english } from './i18n';

/** What went wrong, independent of HTTP; the error filter maps each code to one status. */
export enum ErrorCode {
  NotFound = 'not_found',
  Conflict = 'conflict',
  InvalidInput = 'invalid_input',
  Unavailable = 'unavailable',
  ShuttingDown = 'shutting_down',
}

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  /** The fields at fault, when the error is about input. */
  readonly details?: FieldProblem[];
}

export interface FieldProblem {
  field: string;
  reasons: string[];
}

/** Input refused field by field: by the validation pipe, or by a service where a rule needs more than the body. */
export class InvalidFieldsError extends DomainError {
  readonly code = ErrorCode.InvalidInput;
  constructor(override readonly details: FieldProblem[]) {
    super(details.map(({ field, reasons }) => `${field}: ${reasons.join(', ')}`).join('; '));
  }
}

export class AppNotFoundError extends DomainError {
  readonly code = ErrorCode.NotFound;
  constructor(id: number | string) {
    super(english('failure.appNotFound', { id }));
  }
}

export class RunNotFoundError extends DomainError {
  readonly code = ErrorCode.NotFound;
  constructor(id: number | string) {
    super(english('failure.runNotFound', { id }));
  }
}

export class AppNameTakenError extends DomainError {
  readonly code = ErrorCode.Conflict;
  constructor(name: string) {
    super(english('failure.nameTaken', { name }));
  }
}

export class RunInProgressError extends DomainError {
  readonly code = ErrorCode.Conflict;
  constructor(appName: string) {
    super(english('failure.runInProgress', { name: appName }));
  }
}

/** A cancel that came too late: the run has ended, or is storing its result and will end as it is. */
export class RunNotCancellableError extends DomainError {
  readonly code = ErrorCode.Conflict;
}

/** The remote or rclone could not do what was asked (listing, reading). */
export class StorageUnavailableError extends DomainError {
  readonly code = ErrorCode.Unavailable;
}

export class ShuttingDownError extends DomainError {
  readonly code = ErrorCode.ShuttingDown;
  constructor() {
    super(english('failure.shuttingDown'));
  }
}

/** A restore, verify or download named something that is not one of the app's usable backups. */
export class InvalidBackupError extends DomainError {
  readonly code = ErrorCode.InvalidInput;
}

export class DestinationNotFoundError extends DomainError {
  readonly code = ErrorCode.NotFound;
  constructor(id: number | string) {
    super(english('failure.destinationNotFound', { id }));
  }
}

/** A destination name taken, one that apps still use, or the built-in one (which follows RCLONE_REMOTE). */
export class DestinationConflictError extends DomainError {
  readonly code = ErrorCode.Conflict;
}

/** Cluster mode: the error with which a replica of another zone refused a run handed over to it (see BackupRunner.route). */
export class HandedOverError extends DomainError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    override readonly details?: FieldProblem[],
  ) {
    super(message);
  }
}
