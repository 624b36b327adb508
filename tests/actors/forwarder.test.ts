/** The forwarder's bound on a forward, as a pure rule (its behaviour on sockets: tests/app/bridge.test.ts). */
import { describe, expect, it } from 'vitest';
import { forwardExpired } from '../../actors/forwarder.ts';

const policy = { maxAttempts: 3, maxAgeMs: 1_000 };

describe('forwardExpired', () => {
  it('a forward may be tried while it has failed fewer than maxAttempts hand-offs and is younger than maxAgeMs', () => {
    expect(forwardExpired({ attempts: 2, firstAt: 0 }, 999, policy)).toBeUndefined();
  });

  it('is given up after maxAttempts failed hand-offs, saying so', () => {
    expect(forwardExpired({ attempts: 3, firstAt: 0 }, 1, policy)).toBe('3 of 3 hand-offs to the host failed');
  });

  it('is given up at maxAgeMs after its result was stored, saying the host was not reachable', () => {
    expect(forwardExpired({ attempts: 0, firstAt: 0 }, 1_000, policy)).toContain('not handed to the host within 1000 ms');
  });
});
