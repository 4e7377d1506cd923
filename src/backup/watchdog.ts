import { BackupFailure } from './backup-failure';
import { english } from '../common/i18n';

/**
 * Aborts a run that stalls (no byte for `idleMs`, including while waiting for the app to answer) or
 * runs longer than `maxMs`. touch() is called per chunk, so it only refreshes a timer.
 */
export class Watchdog {
  readonly controller = new AbortController();
  /** Why nothing moved for `idleMs`; a run that can tell whose side stopped (app or storage) replaces it. */
  explainStall: () => Error;
  private readonly idle: NodeJS.Timeout;
  private readonly deadline: NodeJS.Timeout;

  constructor(idleMs: number, maxMs: number, parent?: AbortSignal) {
    parent?.addEventListener('abort', () => this.abort(parent.reason), { once: true });
    this.explainStall = () => new BackupFailure('export', english('failure.idleStall', { seconds: idleMs / 1000 }));
    this.idle = setTimeout(() => this.abort(this.explainStall()), idleMs);
    this.deadline = setTimeout(
      () => this.abort(new BackupFailure('export', english('failure.maxDuration', { seconds: maxMs / 1000 }))),
      maxMs,
    );
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    this.idle.refresh();
  }

  abort(reason: Error): void {
    this.stop();
    if (!this.signal.aborted) this.controller.abort(reason);
  }

  stop(): void {
    clearTimeout(this.idle);
    clearTimeout(this.deadline);
  }
}
