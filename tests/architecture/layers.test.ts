/**
 * Layers point down only. Each top-level folder has one job, and may import only the folders
 * listed for it here; the kernel (runtime, supervisors) knows nothing of the OOS flow. Modules
 * import each other without cycles (type-only imports, erased at build, excepted: a cycle through
 * them is no load-order hazard).
 */
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../persistence/helpers.ts';
import { cycles, folderOf, importGraph } from './import-graph.ts';

/** What each folder may import, besides itself: its job in one word, then the folders below it. */
export const LAYERS: Readonly<Record<string, { job: string; mayImport: readonly string[] }>> = {
  runtime: { job: 'kernel', mayImport: [] },
  supervisors: { job: 'supervision', mayImport: ['runtime'] },
  protocol: { job: 'wire', mayImport: [] },
  transport: { job: 'sockets', mayImport: [] },
  domain: { job: 'rules', mayImport: ['runtime', 'protocol'] },
  persistence: { job: 'storage', mayImport: ['runtime', 'domain'] },
  telemetry: { job: 'observability', mayImport: ['runtime', 'protocol', 'domain'] },
  actors: { job: 'workers', mayImport: ['runtime', 'supervisors', 'protocol', 'transport', 'domain', 'persistence', 'telemetry'] },
  app: { job: 'wiring', mayImport: ['runtime', 'supervisors', 'protocol', 'transport', 'domain', 'persistence', 'actors', 'telemetry'] },
  'index.ts': { job: 'entry', mayImport: ['runtime', 'supervisors', 'protocol', 'domain', 'app'] },
  cli: { job: 'commands', mayImport: ['runtime', 'protocol', 'transport', 'domain', 'persistence', 'telemetry', 'actors', 'app', 'backtester'] },
  backtester: { job: 'service', mayImport: ['runtime', 'protocol', 'transport'] },
};

const graph = importGraph(REPO_ROOT, Object.keys(LAYERS));

describe('layers', () => {
  it('every import points to the same folder or one listed below it', () => {
    const upward: string[] = [];
    for (const [file, edges] of graph) {
      const from = folderOf(file);
      for (const { to } of edges) {
        const target = folderOf(to);
        if (target !== from && !LAYERS[from].mayImport.includes(target)) upward.push(`${file} imports ${to}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('the kernel imports nothing outside itself (and supervision only the runtime)', () => {
    for (const [file, edges] of graph) {
      if (folderOf(file) !== 'runtime' && folderOf(file) !== 'supervisors') continue;
      for (const { to } of edges) expect(['runtime', 'supervisors']).toContain(folderOf(to));
    }
  });

  it('no module imports itself through others', () => {
    const valueGraph = new Map([...graph].map(([f, edges]) => [f, edges.filter((e) => !e.typeOnly).map((e) => e.to)]));
    expect(cycles(valueGraph)).toEqual([]);
  });

  it('the checker sees a cycle and an upward import when there is one', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
    expect(graph.get('actors/sender.ts')?.some((e) => folderOf(e.to) === 'persistence')).toBe(true);
  });
});
