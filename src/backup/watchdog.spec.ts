import { afterEach, describe, expect, it, vi } from 'vitest';
import { Watchdog } from './watchdog';

describe('Watchdog', () => {
  afterEach(() => vi.useRealTimers());

  it('follows a parent that was aborted before it was made', () => {
    const parent = new AbortController();
    parent.abort(new Error('cancelled'));
    const watchdog = new Watchdog(1000, 5000, parent.signal);
    expect(watchdog.signal.aborted).toBe(true);
    expect((watchdog.signal.reason as Error).message).toBe('cancelled');
    watchdog.stop();
  });

  it('keeps its limits counting after the parent aborts: `limits` aborts only on a stall or the deadline', () => {
    vi.useFakeTimers();
    const parent = new AbortController();
    const watchdog = new Watchdog(1000, 5000, parent.signal);
    parent.abort(new Error('cancelled'));
    expect(watchdog.signal.aborted).toBe(true);
    expect(watchdog.limits.aborted).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(watchdog.limits.aborted).toBe(true);
    expect((watchdog.limits.reason as Error).message).toMatch(/app sent no data for 1 s/);
    // The first reason stands.
    expect((watchdog.signal.reason as Error).message).toBe('cancelled');
  });
});
