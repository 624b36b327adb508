import { describe, expect, it } from 'vitest';
import type { WriteCommand } from '../../persistence/commands.ts';
import { DAY_MS, failureCountsByDay, supervisorEventsSince } from '../../persistence/events.ts';
import { applyOk, useTempStores } from './helpers.ts';

const temp = useTempStores();
const DAY0 = Date.UTC(2026, 1, 2); // 2026-02-02T00:00:00Z

function failure(kind: 'timeout' | 'send_failure' | 'db_error'): WriteCommand {
  return { type: 'recordFailure', kind, source: 'oos/sender', detail: 'x' };
}

describe('failure events', () => {
  it('the daily roll-up counts failures per UTC day and kind', () => {
    const store = temp.open();
    applyOk(store, [failure('timeout'), failure('timeout'), failure('send_failure')], DAY0 + 1);
    applyOk(store, [failure('timeout')], DAY0 + DAY_MS - 1); // last ms of day 0
    applyOk(store, [failure('timeout'), failure('db_error')], DAY0 + DAY_MS); // first ms of day 1
    applyOk(store, [failure('db_error')], DAY0 + 3 * DAY_MS);

    expect(failureCountsByDay(store, DAY0, DAY0 + 2 * DAY_MS)).toEqual([
      { day: '2026-02-02', dayStartMs: DAY0, kind: 'send_failure', count: 1 },
      { day: '2026-02-02', dayStartMs: DAY0, kind: 'timeout', count: 3 },
      { day: '2026-02-03', dayStartMs: DAY0 + DAY_MS, kind: 'db_error', count: 1 },
      { day: '2026-02-03', dayStartMs: DAY0 + DAY_MS, kind: 'timeout', count: 1 },
    ]);
    // The range is half-open: [from, to).
    expect(failureCountsByDay(store, DAY0 + DAY_MS, DAY0 + DAY_MS + 1)).toHaveLength(2);
    expect(failureCountsByDay(store, DAY0 + 4 * DAY_MS, DAY0 + 5 * DAY_MS)).toEqual([]);
  });
});

describe('supervisor events', () => {
  it('supervisor events are kept and read back from a time on, oldest first', () => {
    const store = temp.open();
    applyOk(store, [{ type: 'recordSupervisorEvent', kind: 'start', path: '/oos', childId: 'sender' }], DAY0);
    applyOk(
      store,
      [
        { type: 'recordSupervisorEvent', kind: 'crash', path: '/oos', childId: 'sender', detail: 'TypeError: x' },
        { type: 'recordSupervisorEvent', kind: 'restart', path: '/oos', childId: 'sender' },
      ],
      DAY0 + 5,
    );
    expect(supervisorEventsSince(store, DAY0 + 1).map((e) => [e.kind, e.childId, e.detail, e.at])).toEqual([
      ['crash', 'sender', 'TypeError: x', DAY0 + 5],
      ['restart', 'sender', null, DAY0 + 5],
    ]);
    expect(supervisorEventsSince(store, 0, 1)).toHaveLength(1);
  });
});
