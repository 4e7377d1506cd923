import { english } from '../common/i18n';

/** The steps of a run, named in its error so that a person knows where it broke. */
export type BackupStep = 'capabilities' | 'export' | 'upload' | 'finish' | 'shutdown' | 'restart' | 'read' | 'import' | 'verify' | 'selftest';

/** A run failed for a reason a person can act on; the message says what to check. */
export class BackupFailure extends Error {
  constructor(
    readonly step: BackupStep,
    message: string,
  ) {
    super(message);
  }

  override toString(): string {
    return english(`failure.step.${this.step}`, { reason: this.message });
  }
}
