/** Shared command-line plumbing: output sinks, a small declarative flag parser, usage errors. */

export interface CommandOutput {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export const processOutput: CommandOutput = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
};

export class UsageError extends Error {}

export type FlagSpec = Record<string, { type: 'string' | 'number' | 'boolean'; short?: string }>;
export type Flags<S extends FlagSpec> = { [K in keyof S]?: S[K]['type'] extends 'boolean' ? boolean : S[K]['type'] extends 'number' ? number : string };

/** Parses `--name value`, `--name=value` and boolean `--name`; anything else starting with '-' is an error. */
export function parseFlags<S extends FlagSpec>(argv: readonly string[], spec: S): { flags: Flags<S>; positionals: string[] } {
  const flags: Record<string, unknown> = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec).flatMap(([k, v]) => (v.short ? [[v.short, k] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const [rawName, inline] = arg.startsWith('--') ? splitOnce(arg.slice(2)) : [byShort.get(arg.slice(1)) ?? `-${arg.slice(1)}`, undefined];
    const name = rawName as string;
    const def = spec[name];
    if (!def) throw new UsageError(`unknown option ${arg}`);
    if (def.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`option --${name} needs a value`);
    if (def.type === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`option --${name} needs a number, got '${value}'`);
      flags[name] = n;
    } else {
      flags[name] = value;
    }
  }
  return { flags: flags as Flags<S>, positionals };
}

function splitOnce(s: string): [string, string | undefined] {
  const eq = s.indexOf('=');
  return eq < 0 ? [s, undefined] : [s.slice(0, eq), s.slice(eq + 1)];
}

/** The database a command reads: --db, else $SHOAL_DB, else ./shoal.db. */
export function dbPathFrom(flag: string | undefined, env: Record<string, string | undefined> = process.env): string {
  return flag ?? env.SHOAL_DB ?? 'shoal.db';
}

/** Runs a command body, turning usage errors into exit code 2 with the usage text. */
export async function runCommand(name: string, usage: string, out: CommandOutput, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      out.stderr(`shoal ${name}: ${e.message}\n\n${usage}`);
      return 2;
    }
    throw e;
  }
}

export function formatTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z');
}

