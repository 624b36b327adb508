/** The clock-jump fault's judgment: with every answer inside its lease, a timeout is spurious and a request that has not ended is stuck. */
import { describe, expect, it } from 'vitest';
import { judgeClockJump } from './clock-jump.ts';

describe('clock-jump judgment', () => {
  it('a request done after a failed first attempt, or dead after its attempts all failed, is fine', () => {
    expect(judgeClockJump([{ requestId: 'a', state: 'done', outcomes: ['error_result'], scripted: true }, { requestId: 'b', state: 'dead', outcomes: ['error_result', 'error_result', 'error_result'], scripted: true }], 60_000)).toEqual([]);
  });

  it('a timed-out attempt is a spurious timeout; a request still pending or in flight is stuck', () => {
    const found = judgeClockJump(
      [
        { requestId: 'a', state: 'done', outcomes: ['error_result', 'timeout'], scripted: true },
        { requestId: 'b', state: 'pending', outcomes: ['error_result'], scripted: true },
        { requestId: 'c', state: 'in_flight', outcomes: [], scripted: true },
      ],
      60_000,
    );
    expect(found.map((v) => `${v.requestId}:${v.rule}`)).toEqual(['a:spurious-timeout', 'b:stuck', 'c:stuck']);
  });

  it('a timeout of a request that got an unscripted answer (a hang drawn before the script was in place) is not the step\'s doing', () => {
    expect(judgeClockJump([{ requestId: 'a', state: 'done', outcomes: ['timeout'], scripted: false }], 60_000)).toEqual([]);
  });
});
