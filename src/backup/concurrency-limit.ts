/** At most `max` holders at once; the others wait in arrival order. */
export class ConcurrencyLimit {
  private holders = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  /**
   * Resolves with the release function once a place is free. Aborting `signal` while waiting leaves the
   * queue (a cancelled run never starts) and rejects with its reason.
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.holders < this.max) this.holders++;
    else {
      await new Promise<void>((resolve, reject) => {
        const leave = () => {
          this.waiting.splice(this.waiting.indexOf(handOver), 1);
          reject(signal!.reason);
        };
        // The releaser hands its place over: from then on this waiter holds it, aborted or not.
        const handOver = () => {
          signal?.removeEventListener('abort', leave);
          resolve();
        };
        this.waiting.push(handOver);
        signal?.addEventListener('abort', leave, { once: true });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.holders--;
    };
  }
}
