/** The forwarder's bound on a forward, as a pure rule (its behaviour on sockets: tests/app/bridge.test.ts). */
import { describe, expect, it } from 'vitest';
import { forwardExpired, reopenSpan, startReopenSpan } from '../../actors/forwarder.ts';

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

describe('reopenSpan', () => {
  it("reopens the hand-offs of reopenWindowMs before the host's connection dropped and every one marked since, up to the loss being handled: a mark that commits after the drop went down with it", () => {
    expect(reopenSpan(10_000, 10_040, { reopenWindowMs: 1_000 })).toEqual({ since: 9_000, until: 10_040 });
  });

  it('never ends before the drop, whatever the clock says when the loss is handled', () => {
    expect(reopenSpan(10_000, 9_990, { reopenWindowMs: 1_000 })).toEqual({ since: 9_000, until: 10_000 });
  });
});

describe('startReopenSpan', () => {
  it('reopens the hand-offs of reopenWindowMs before the latest mark, however long before the start it was: the frames the dead socket still held were the last it took', () => {
    expect(startReopenSpan(50_000, { reopenWindowMs: 1_000 })).toEqual({ since: 49_000, until: 50_000 });
  });

  it('reopens nothing when no forward is marked forwarded', () => {
    expect(startReopenSpan(undefined, { reopenWindowMs: 1_000 })).toBeUndefined();
  });
});
