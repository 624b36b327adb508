import { describe, expect, it } from 'vitest';
import { restartsAfter, type ExitKind } from '../../supervisors/restart-policy.ts';

describe('restartsAfter: which exits restart a child (OTP do_restart)', () => {
  const table: [string, ExitKind, boolean][] = [
    ['permanent', 'crash', true],
    ['permanent', 'normal', true],
    ['permanent', 'shutdown', true],
    ['transient', 'crash', true],
    ['transient', 'normal', false],
    ['transient', 'shutdown', false],
    ['temporary', 'crash', false],
    ['temporary', 'normal', false],
    ['temporary', 'shutdown', false],
  ];
  for (const [restart, exit, expected] of table) {
    it(`a ${restart} child ${expected ? 'is' : 'is not'} restarted after a ${exit} exit`, () => {
      expect(restartsAfter(restart as 'permanent', exit)).toBe(expected);
    });
  }
});
