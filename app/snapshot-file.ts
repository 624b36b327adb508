/**
 * The running runtime publishes its supervision tree and counters to a JSON file beside the
 * database, replaced atomically, so `shoal tree` in another process can inspect it without IPC.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { TreeNode } from '../runtime/index.ts';

export interface RuntimeSnapshot {
  readonly at: number;
  readonly pid: number;
  /** How often the runtime rewrites the snapshot, so a reader can tell a stale one (absent in older files). */
  readonly intervalMs?: number;
  readonly stopped?: string;
  readonly tree: readonly TreeNode[];
  readonly stats: Record<string, unknown>;
}

export function snapshotPath(dbPath: string): string {
  return `${dbPath}.tree.json`;
}

export function writeSnapshot(dbPath: string, snapshot: RuntimeSnapshot): void {
  const target = snapshotPath(dbPath);
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(snapshot, null, 1));
  renameSync(tmp, target);
}

export function readSnapshot(dbPath: string): RuntimeSnapshot | undefined {
  try {
    return JSON.parse(readFileSync(snapshotPath(dbPath), 'utf8')) as RuntimeSnapshot;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read runtime snapshot ${snapshotPath(dbPath)}: ${(e as Error).message}`);
  }
}
