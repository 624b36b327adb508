/**
 * Shared command-line plumbing: output sinks, option parsing on node:util parseArgs (strict) with
 * numbers and choices checked, and usage errors as one line.
 */
import { parseArgs } from 'node:util';

export interface CommandOutput {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export const processOutput: CommandOutput = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
};

/** Bad input from the command line: reported as one line, then the usage, exit code 2. */
export class UsageError extends Error {}

/** One option of a command. parseArgs knows strings and booleans; a number is a checked string. */
export type OptionSpec =
  | { type: 'boolean'; short?: string }
  | { type: 'string'; short?: string; choices?: readonly string[] }
  | { type: 'number'; short?: string; integer?: boolean; min?: number };
export type FlagSpec = Record<string, OptionSpec>;
export type Flags<S extends FlagSpec> = { [K in keyof S]?: S[K]['type'] extends 'boolean' ? boolean : S[K]['type'] extends 'number' ? number : string };

export interface ParsedCommandLine<S extends FlagSpec> {
  flags: Flags<S>;
  positionals: string[];
  /** -h or --help was given: print the usage, whatever else is on the line. */
  help: boolean;
}

/** Every command takes -h/--help. */
const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * Parses `--name value`, `--name=value`, boolean `--name` and `-h`/`--help`; `--` ends the
 * options. An unknown option, a missing or unwanted value, a bad number or choice, or (without
 * `allowPositionals`) any argument that is not an option throws a UsageError naming it.
 */
export function parseFlags<S extends FlagSpec>(argv: readonly string[], spec: S, options: { allowPositionals?: boolean } = {}): ParsedCommandLine<S> {
  if (Object.hasOwn(spec, 'help')) throw new Error("'help' is every command's own option");
  const config = Object.fromEntries(Object.entries(spec).map(([name, o]) => [name, { type: o.type === 'boolean' ? 'boolean' : 'string', ...(o.short ? { short: o.short } : {}) } as const]));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...config, ...HELP }, strict: true, allowPositionals: options.allowPositionals ?? false });
  } catch (e) {
    // Help wins over a mistake elsewhere on the line (here or in a value below): someone asking
    // for it wants the usage.
    const end = argv.indexOf('--');
    if ((end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h')) return { flags: {}, positionals: [], help: true };
    throw new UsageError(parseErrorLine(e));
  }
  if (parsed.values.help === true) return { flags: {}, positionals: [], help: true };
  const flags: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (name === 'help') continue;
    const o = spec[name];
    flags[name] = o.type === 'number' ? toNumber(name, value as string, o) : value;
    if (o.type === 'string' && o.choices && !o.choices.includes(value as string)) {
      throw new UsageError(`--${name} must be one of ${o.choices.join(', ')}, got '${value as string}'`);
    }
  }
  return { flags: flags as Flags<S>, positionals: parsed.positionals, help: false };
}

function toNumber(name: string, text: string, o: { integer?: boolean; min?: number }): number {
  const n = Number(text);
  const ok = text.trim() !== '' && Number.isFinite(n) && (!o.integer || Number.isSafeInteger(n)) && (o.min === undefined || n >= o.min);
  if (!ok) throw new UsageError(`--${name} must be ${o.integer ? 'a whole number' : 'a number'}${o.min === undefined ? '' : ` >= ${o.min}`}, got '${text}'`);
  return n;
}

/**
 * parseArgs's errors as one line of ours: its own texts span lines (an ambiguous value) or give
 * advice about positionals a command may not take. The option it names is the first quoted word.
 */
function parseErrorLine(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const message = String(err.message ?? e);
  const named = /'([^']*)'/.exec(message)?.[1] ?? '';
  const option = named.replace(/ <value>$/, '');
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${named}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (message.includes('does not take an argument')) return `option ${option} takes no value`;
      if (message.includes('ambiguous')) return `option ${option} needs a value (for one starting with '-', write ${option}=VALUE)`;
      return `option ${option} needs a value`;
    default:
      throw e;
  }
}

/** The database a command reads: --db, else $SHOAL_DB, else ./shoal.db. */
export function dbPathFrom(flag: string | undefined, env: Record<string, string | undefined> = process.env): string {
  return flag ?? env.SHOAL_DB ?? 'shoal.db';
}

/** Runs a command body, turning usage errors into exit code 2: the error's line, then the usage. */
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
