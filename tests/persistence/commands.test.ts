/**
 * The write protocol as a registry: each command is defined beside its table, listed once, and
 * the modules around it depend one way only.
 */
import { describe, expect, it } from 'vitest';
import { applyOne } from '../../persistence/batch.ts';
import { describeCommand, WRITE_COMMANDS, type WriteCommand } from '../../persistence/commands.ts';
import { cycles, importGraph } from '../architecture/import-graph.ts';
import { REPO_ROOT, T0, useTempStores } from './helpers.ts';

const temp = useTempStores();
const persistence = importGraph(REPO_ROOT, ['persistence']);

describe('write commands registry', () => {
  it('lists each command type once', () => {
    const types = WRITE_COMMANDS.map((c) => c.type);
    expect(new Set(types).size).toBe(types.length);
  });

  it("describes a command by its own spec: its type, table and key", () => {
    expect(describeCommand({ type: 'retryRequest', requestId: 'R', nextAttemptAt: T0, error: 'e', failureKind: 'timeout' })).toBe('retryRequest (oos_requests) request=R');
    expect(describeCommand({ type: 'discardDeadLetter', id: 7 })).toBe('discardDeadLetter (dead_letters) id=7');
  });

  it('a command of no registered type fails alone, naming its type', () => {
    const outcome = applyOne(temp.open(), { type: 'dropTables' } as unknown as WriteCommand, T0);
    expect(outcome).toMatchObject({ status: 'error', error: expect.stringMatching(/unknown write command type dropTables/) });
  });

  it('only the executor and the package surface import the registry; no store module imports another in a cycle, even through types', () => {
    const importers = [...persistence].filter(([, edges]) => edges.some((e) => e.to === 'persistence/commands.ts')).map(([file]) => file);
    expect(importers.sort()).toEqual(['persistence/batch.ts', 'persistence/index.ts']);
    expect(cycles(new Map([...persistence].map(([file, edges]) => [file, edges.map((e) => e.to)])))).toEqual([]);
  });
});
