import { BackupFailure } from './backup-failure';
import { english } from '../common/i18n';

/**
 * Aborts a run that stalls (no byte for `idleMs`, including while waiting for the app to answer) or
 * runs longer than `maxMs`, and follows the run's own stop signal (shutdown, cancel). touch() is called
 * per chunk, so it only refreshes a timer.
 */
export class Watchdog {
  readonly controller = new AbortController();
  /** Why nothing moved for `idleMs`; a run that can tell whose side stopped (app or storage) replaces it. */
  explainStall: () => Error;
  private readonly expired = new AbortController();
  private readonly idle: NodeJS.Timeout;
  private readonly deadline: NodeJS.Timeout;

  constructor(idleMs: number, maxMs: number, parent?: AbortSignal) {
    // The limits keep counting after the parent's abort: a step that is let finish (see limits) still may not hang.
    const follow = () => {
      if (!this.signal.aborted) this.controller.abort(parent!.reason);
    };
    if (parent?.aborted) follow();
    else parent?.addEventListener('abort', follow, { once: true });
    this.explainStall = () => new BackupFailure('export', english('failure.idleStall', { seconds: idleMs / 1000 }));
    this.idle = setTimeout(() => this.expire(this.explainStall()), idleMs);
    this.deadline = setTimeout(() => this.expire(new BackupFailure('export', english('failure.maxDuration', { seconds: maxMs / 1000 }))), maxMs);
  }

  /** Aborted for any reason: a limit, the parent, or abort(). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Aborted by the idle and duration limits only: for a step that is let finish when the run is stopped, but must not hang. */
  get limits(): AbortSignal {
    return this.expired.signal;
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

  private expire(reason: Error): void {
    this.expired.abort(reason);
    this.abort(reason);
  }
}
