import { existsSync } from 'node:fs';
import type { Store } from '../persistence/connection.ts';
import { openReadStore, type ReadStore } from '../persistence/read-store.ts';
import type { CommandOutput } from './args.ts';

function missing(command: string, path: string, out: CommandOutput): boolean {
  if (existsSync(path)) return false;
  out.stderr(`shoal ${command}: no database at ${path} (use --db or $SHOAL_DB)\n`);
  return true;
}

/** Opens the database to read without kysely or the migrations (fast start), or explains why not (exit code 2). */
export function openReadDatabase(command: string, path: string, out: CommandOutput): ReadStore | undefined {
  if (missing(command, path, out)) return undefined;
  try {
    return openReadStore(path);
  } catch (e) {
    out.stderr(`shoal ${command}: cannot open ${path}: ${(e as Error).message}\n`);
    return undefined;
  }
}

/** Opens the database as a full store (typed queries; with `write`, migrations and writes), or explains why not (exit code 2). */
export async function openDatabase(command: string, path: string, out: CommandOutput, options: { write?: boolean } = {}): Promise<Store | undefined> {
  if (missing(command, path, out)) return undefined;
  try {
    // Loaded here, not at the top: it brings kysely, which read-only commands do without.
    const { openStore } = await import('../persistence/connection.ts');
    return openStore({ path, readonly: !options.write, busyTimeoutMs: 5_000 });
  } catch (e) {
    out.stderr(`shoal ${command}: cannot open ${path}: ${(e as Error).message}\n`);
    return undefined;
  }
}
