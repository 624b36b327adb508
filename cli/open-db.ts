import { existsSync } from 'node:fs';
import { openStore, type Store } from '../persistence/connection.ts';
import type { CommandOutput } from './args.ts';

/** Opens the database a command works on, or explains why not (exit code 2). */
export function openDatabase(command: string, path: string, out: CommandOutput, options: { write?: boolean } = {}): Store | undefined {
  if (!existsSync(path)) {
    out.stderr(`shoal ${command}: no database at ${path} (use --db or $SHOAL_DB)\n`);
    return undefined;
  }
  try {
    return openStore({ path, readonly: !options.write, busyTimeoutMs: 5_000 });
  } catch (e) {
    out.stderr(`shoal ${command}: cannot open ${path}: ${(e as Error).message}\n`);
    return undefined;
  }
}
