/** At most `max` holders at once; the others wait in arrival order. */
export class ConcurrencyLimit {
  private holders = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  /** Resolves with the release function once a place is free. */
  async acquire(): Promise<() => void> {
    if (this.holders < this.max) this.holders++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // the releaser hands its place over
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
