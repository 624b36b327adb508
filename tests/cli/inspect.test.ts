import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { writeSnapshot } from '../../app/snapshot-file.ts';
import { applyBatch } from '../../persistence/batch.ts';
import { getDeadLetter } from '../../persistence/dead-letters.ts';
import { applyOk, seedRequests, T0, useTempStores } from '../persistence/helpers.ts';

const temp = useTempStores();

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, sink: { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s) } };
}

/** A database with two pending requests, one in flight, one dead (with its dead letter). */
function database() {
  const dir = temp.dir();
  const dbPath = path.join(dir, 'shoal.db');
  const store = temp.open({ path: dbPath });
  const [, , , dead] = seedRequests(store, ['a', 'b', 'c', 'd'], T0);
  applyOk(store, [{ type: 'claimDue', limit: 2, leaseMs: 60_000 }], T0 + 1);
  applyOk(store, [{ type: 'deadLetterRequest', requestId: dead, error: 'No data available', failureKind: 'error_result', source: '/shoal/pipeline/sender' }], T0 + 2);
  return { dbPath, store, dead };
}

describe('shoal queue', () => {
  it('shows the outbox counts by state and the oldest live request', async () => {
    const { dbPath } = database();
    const { out, sink } = capture();
    expect(await main(['queue', '--db', dbPath], sink)).toBe(0);
    expect(out.stdout).toMatch(/outbox: pending 1, in_flight 2, done 0, dead 1/);
    expect(out.stdout).toMatch(/oldest live request: .* \(a\)/);
  });

  it('refuses an unknown state with the usage and exit code 2', async () => {
    const { dbPath } = database();
    const { out, sink } = capture();
    expect(await main(['queue', '--db', dbPath, '--state', 'lost'], sink)).toBe(2);
    expect(out.stderr).toMatch(/--state must be one of pending, in_flight, done, dead/);
  });

  it('says which database is missing', async () => {
    const { out, sink } = capture();
    expect(await main(['queue', '--db', '/nonexistent/shoal.db'], sink)).toBe(2);
    expect(out.stderr).toMatch(/no database at \/nonexistent\/shoal.db/);
  });
});

describe('shoal dead-letters', () => {
  it('lists dead letters and shows one with its message', async () => {
    const { dbPath } = database();
    const list = capture();
    expect(await main(['dead-letters', '--db', dbPath], list.sink)).toBe(0);
    expect(list.out.stdout).toMatch(/dead .*\/shoal\/pipeline\/sender .*No data available/);
    const show = capture();
    expect(await main(['dead-letters', 'show', '1', '--db', dbPath, '--json'], show.sink)).toBe(0);
    expect(JSON.parse(show.out.stdout)).toMatchObject({ id: 1, state: 'dead', source: '/shoal/pipeline/sender' });
  });

  it('marks letters for replay and discards others, keeping the rows', async () => {
    const { dbPath, store } = database();
    applyBatch(store, [{ type: 'insertDeadLetter', source: '/x', message: { job: 1 }, error: 'boom', attempts: 3 }], T0 + 3);
    const replay = capture();
    expect(await main(['dead-letters', 'replay', '1', '--db', dbPath], replay.sink)).toBe(0);
    expect(replay.out.stdout).toMatch(/1 dead letter\(s\) marked for replay: 1/);
    expect(getDeadLetter(store, 1)?.state).toBe('replaying');
    const discard = capture();
    expect(await main(['dead-letters', 'discard', '2', '--reason', 'obsolete', '--db', dbPath], discard.sink)).toBe(0);
    expect(getDeadLetter(store, 2)).toMatchObject({ state: 'discarded', note: 'obsolete' });
    const bad = capture();
    expect(await main(['dead-letters', 'discard', 'x', '--db', dbPath], bad.sink)).toBe(2);
    expect(bad.out.stderr).toMatch(/dead letter ids are positive integers, got 'x'/);
  });
  it('replay names each letter it cannot replay and why, says when no runtime is running, and exits 1', async () => {
    const { dbPath, store } = database();
    // Letter 2: used all its replays; letter 3: discarded.
    applyBatch(store, [{ type: 'insertDeadLetter', source: '/x', message: { kind: 'job' }, error: 'boom', attempts: 3 }], T0 + 3);
    for (let i = 0; i < 3; i++) {
      applyOk(store, [{ type: 'claimDeadLettersForReplay', ids: [2], limit: 1, maxReplays: 3 }], T0 + 4 + i);
      applyOk(store, [{ type: 'deadLetterReturned', id: 2, error: 'still failing' }], T0 + 4 + i);
    }
    applyBatch(store, [{ type: 'insertDeadLetter', source: '/x', message: { kind: 'job' }, error: 'boom', attempts: 3 }], T0 + 8);
    applyOk(store, [{ type: 'discardDeadLetter', id: 3, reason: 'obsolete' }], T0 + 9);
    const replay = capture();
    expect(await main(['dead-letters', 'replay', '1', '2', '3', '99', '--db', dbPath], replay.sink)).toBe(1);
    expect(replay.out.stderr.split('\n').filter(Boolean)).toEqual([
      'dead letter 2 not replayed: at the cap: 3 of 3 replays used; --max-replays N to raise it',
      'dead letter 3 not replayed: discarded (obsolete); a discarded letter is kept, never replayed',
      'dead letter 99 not replayed: no such letter (99)',
    ]);
    expect(replay.out.stdout).toBe('1 dead letter(s) marked for replay: 1; no runtime is running: it will be replayed at the next start\n');
    expect(getDeadLetter(store, 1)?.state).toBe('replaying');
    // Raising the cap lets letter 2 go.
    const raised = capture();
    expect(await main(['dead-letters', 'replay', '2', '--max-replays', '4', '--db', dbPath], raised.sink)).toBe(0);
    expect(getDeadLetter(store, 2)?.state).toBe('replaying');
    const all = capture();
    expect(await main(['dead-letters', 'replay', '--all', '--db', dbPath], all.sink)).toBe(0);
    expect(all.out.stdout).toBe('0 dead letter(s) marked for replay; 2 already under way\n');
  });
});

describe('shoal tree', () => {
  it('renders the published snapshot with status, restarts and last error, then the recent supervisor events', async () => {
    const { dbPath, store } = database();
    applyOk(store, [{ type: 'recordSupervisorEvent', kind: 'restart', path: '/shoal/pipeline/sender', childId: 'sender' }], T0 + 4);
    // A fresh snapshot from a live process (this one): the runtime counts as running.
    const at = Date.now();
    writeSnapshot(dbPath, {
      at,
      pid: process.pid,
      intervalMs: 2_000,
      stats: {},
      tree: [
        {
          path: '/shoal',
          kind: 'supervisor',
          strategy: 'one_for_one',
          status: 'running',
          restartCount: 0,
          restartWindow: [],
          mailboxLength: 0,
          children: [{ path: '/shoal/sender', kind: 'worker', status: 'restarting', restartCount: 2, restartWindow: [], mailboxLength: 5, lastError: 'Error: socket', lastErrorAt: at - 1_000, children: [] }],
        },
      ],
    });
    const { out, sink } = capture();
    expect(await main(['tree', '--db', dbPath], sink)).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^runtime running, pid ${process.pid}, snapshot taken`));
    expect(out.stdout).toMatch(/\/shoal  \[running, supervisor one_for_one, restarts 0, in window 0\]/);
    expect(out.stdout).toMatch(/└── sender  \[restarting, worker, restarts 2, mailbox 5, last error .* ago: Error: socket\]/);
    expect(out.stdout).toMatch(/restart +\/shoal\/pipeline\/sender/);
  });
});

describe('shoal', () => {
  it('prints its commands for --help and fails on an unknown command', async () => {
    const help = capture();
    expect(await main(['--help'], help.sink)).toBe(0);
    expect(help.out.stdout).toMatch(/dead-letters/);
    const bad = capture();
    expect(await main(['frobnicate'], bad.sink)).toBe(2);
    expect(bad.out.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
