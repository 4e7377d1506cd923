/**
 * Slows down password guessing: after `maxFailures` failures within `windowMs`, a client is refused
 * for `windowMs` from its last failure. Blocks always expire, so the rightful admin is never locked out
 * for good, and a success clears the client's record.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; first: number; last: number }>();

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds the client must wait, or 0 when it may try. */
  retryAfterSeconds(client: string): number {
    const record = this.failures.get(client);
    if (!record || record.count < this.maxFailures) return 0;
    const remaining = record.last + this.windowMs - this.now();
    if (remaining <= 0) {
      this.failures.delete(client);
      return 0;
    }
    return Math.ceil(remaining / 1000);
  }

  recordFailure(client: string): void {
    const now = this.now();
    const record = this.failures.get(client);
    if (!record || now - record.first > this.windowMs) {
      this.forgetExpired(now);
      this.failures.set(client, { count: 1, first: now, last: now });
      return;
    }
    record.count++;
    record.last = now;
  }

  recordSuccess(client: string): void {
    this.failures.delete(client);
  }

  /** Keeps the map small when many clients fail once and never come back. */
  private forgetExpired(now: number): void {
    for (const [client, record] of this.failures) {
      if (now - record.last > this.windowMs) this.failures.delete(client);
    }
  }
}
