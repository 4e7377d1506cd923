import { describe, expect, it } from 'vitest';
import { LoginThrottle } from './login-throttle';

describe('LoginThrottle', () => {
  const setup = () => {
    let now = 1_000_000;
    const throttle = new LoginThrottle(3, 60_000, () => now);
    return { throttle, advance: (ms: number) => (now += ms) };
  };

  it('blocks a client after the allowed failures and lets it in again once the window has passed', () => {
    const { throttle, advance } = setup();
    for (let i = 0; i < 3; i++) {
      expect(throttle.retryAfterSeconds('a')).toBe(0);
      throttle.recordFailure('a');
    }
    expect(throttle.retryAfterSeconds('a')).toBe(60);
    expect(throttle.retryAfterSeconds('b')).toBe(0);
    advance(59_000);
    expect(throttle.retryAfterSeconds('a')).toBe(1);
    advance(1_000);
    expect(throttle.retryAfterSeconds('a')).toBe(0);
  });

  it('forgets failures spread wider than the window, and on success', () => {
    const { throttle, advance } = setup();
    throttle.recordFailure('a');
    throttle.recordFailure('a');
    advance(61_000);
    throttle.recordFailure('a');
    expect(throttle.retryAfterSeconds('a')).toBe(0);
    throttle.recordFailure('a');
    throttle.recordSuccess('a');
    throttle.recordFailure('a');
    expect(throttle.retryAfterSeconds('a')).toBe(0);
  });
});
