/**
 * The project's import graph, read from the sources: which module imports which (relative
 * imports only, type-only ones included, since they couple layers just the same).
 */
import fs from 'node:fs';
import path from 'node:path';

const IMPORT = /(?:^|\n)\s*(import|export)(\s+type)?\s[^;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

export interface ImportEdge {
  readonly to: string;
  /** `import type` / `export type`: erased at build, so no load-order coupling. */
  readonly typeOnly: boolean;
}

/** Every .ts file under `dirs` (relative to root), with the project files it imports (relative to root). */
export function importGraph(root: string, dirs: readonly string[]): Map<string, ImportEdge[]> {
  const graph = new Map<string, ImportEdge[]>();
  const visit = (rel: string) => {
    const abs = path.join(root, rel);
    if (fs.statSync(abs).isDirectory()) {
      for (const entry of fs.readdirSync(abs)) if (entry !== 'node_modules') visit(path.join(rel, entry));
      return;
    }
    if (!rel.endsWith('.ts') || rel.endsWith('.d.ts')) return;
    const text = fs.readFileSync(abs, 'utf8');
    const targets: ImportEdge[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[3] ?? m[4];
      targets.push({ to: path.normalize(path.join(path.dirname(rel), spec)), typeOnly: m[2] !== undefined });
    }
    graph.set(rel, targets);
  };
  for (const d of dirs) if (fs.existsSync(path.join(root, d))) visit(d);
  return graph;
}

/** The top-level folder of a path ('index.ts' for files at the root). */
export function folderOf(rel: string): string {
  const i = rel.indexOf(path.sep);
  return i < 0 ? rel : rel.slice(0, i);
}

/** Import cycles between modules, each as the list of files around it (Tarjan's strongly connected components). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return out;
}
