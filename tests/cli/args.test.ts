/**
 * The command-line rules every shoal command shares (cli/args.ts on node:util parseArgs), then
 * each command held to them: an unknown option is refused with one line, the usage and exit 2;
 * --help explains every option the command takes and gives an example.
 */
import { describe, expect, it } from 'vitest';
import { parseFlags, runCommand, UsageError, type FlagSpec } from '../../cli/args.ts';
import { main } from '../../cli/main.ts';
import { DEAD_LETTERS_OPTIONS, DEAD_LETTERS_USAGE } from '../../cli/dead-letters.ts';
import { DEMO_OPTIONS, DEMO_USAGE } from '../../cli/demo.ts';
import { QUEUE_OPTIONS, QUEUE_USAGE } from '../../cli/queue.ts';
import { REPORT_OPTIONS, REPORT_USAGE } from '../../cli/report.ts';
import { TREE_OPTIONS, TREE_USAGE } from '../../cli/tree.ts';
import { VALIDATE_DATA_OPTIONS, VALIDATE_DATA_USAGE } from '../../cli/validate-data.ts';

const SPEC = {
  db: { type: 'string' },
  state: { type: 'string', choices: ['pending', 'dead'] },
  limit: { type: 'number', integer: true, min: 1 },
  ratio: { type: 'number' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
} as const satisfies FlagSpec;

/** The UsageError's message for a command line, or a failure if it parses. */
function refusal(argv: string[], options: { allowPositionals?: boolean } = {}): string {
  try {
    parseFlags(argv, SPEC, options);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`parsed: ${argv.join(' ')}`);
}

describe('parsing a command line', () => {
  it('takes --name value and --name=value alike, and the last of a repeated option', () => {
    expect(parseFlags(['--db', 'a.db', '--limit', '5'], SPEC).flags).toEqual({ db: 'a.db', limit: 5 });
    expect(parseFlags(['--db=a.db', '--limit=5'], SPEC).flags).toEqual({ db: 'a.db', limit: 5 });
    expect(parseFlags(['--db', 'a.db', '--db', 'b.db'], SPEC).flags).toEqual({ db: 'b.db' });
  });

  it('a value may start with a dash when written --name=value', () => {
    expect(parseFlags(['--db=-odd.db', '--ratio=-0.5'], SPEC).flags).toEqual({ db: '-odd.db', ratio: -0.5 });
  });

  it('booleans are true when present, and short names stand for long ones', () => {
    expect(parseFlags(['--json', '-v'], SPEC).flags).toEqual({ json: true, verbose: true });
    expect(parseFlags([], SPEC)).toEqual({ flags: {}, positionals: [], help: false });
  });

  it('numbers are converted, and a bad one is named with the value given', () => {
    expect(parseFlags(['--ratio', '2.5e-1'], SPEC).flags.ratio).toBe(0.25);
    expect(refusal(['--ratio', 'abc'])).toBe("--ratio must be a number, got 'abc'");
    expect(refusal(['--ratio='])).toBe("--ratio must be a number, got ''");
    expect(refusal(['--ratio', 'Infinity'])).toBe("--ratio must be a number, got 'Infinity'");
    expect(refusal(['--limit', '1.5'])).toBe("--limit must be a whole number >= 1, got '1.5'");
    expect(refusal(['--limit', '0'])).toBe("--limit must be a whole number >= 1, got '0'");
  });

  it('a value outside an option’s choices is named with the choices', () => {
    expect(parseFlags(['--state', 'dead'], SPEC).flags.state).toBe('dead');
    expect(refusal(['--state', 'lost'])).toBe("--state must be one of pending, dead, got 'lost'");
  });

  it('an unknown option is refused by name, long or short', () => {
    expect(refusal(['--bogus'])).toBe('unknown option --bogus');
    expect(refusal(['--bogus=1'])).toBe('unknown option --bogus');
    expect(refusal(['-x'])).toBe('unknown option -x');
    expect(refusal(['--db', 'a.db', '--bogus'], { allowPositionals: true })).toBe('unknown option --bogus');
  });

  it('an option missing its value, or a flag given one, is refused by name', () => {
    expect(refusal(['--db'])).toBe('option --db needs a value');
    expect(refusal(['--db', '--json'])).toBe("option --db needs a value (for one starting with '-', write --db=VALUE)");
    expect(refusal(['--json=yes'])).toBe('option --json takes no value');
  });

  it('arguments that are not options are refused unless the command takes them; -- ends the options', () => {
    expect(refusal(['extra'])).toBe("unexpected argument 'extra'");
    expect(parseFlags(['daily', '--json', 'x'], SPEC, { allowPositionals: true })).toEqual({ flags: { json: true }, positionals: ['daily', 'x'], help: false });
    expect(parseFlags(['--', '--json'], SPEC, { allowPositionals: true }).positionals).toEqual(['--json']);
  });

  it('-h and --help ask for the usage, even beside a mistake, but not after --', () => {
    expect(parseFlags(['-h'], SPEC).help).toBe(true);
    expect(parseFlags(['--db', 'x', '--help'], SPEC).help).toBe(true);
    expect(parseFlags(['--bogus', '--help'], SPEC).help).toBe(true);
    expect(parseFlags(['--limit', 'many', '-h'], SPEC).help).toBe(true);
    expect(refusal(['--bogus', '--', '--help'], { allowPositionals: true })).toBe('unknown option --bogus');
  });

  it('every refusal is one line', () => {
    const lines = [['--bogus'], ['--db'], ['--db', '--json'], ['--json=1'], ['x'], ['--limit', 'x'], ['--state', 'x']].map((argv) => refusal(argv));
    for (const line of lines) expect(line).not.toContain('\n');
  });
});

describe('running a command', () => {
  function capture() {
    const out = { stdout: '', stderr: '' };
    return { out, sink: { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s) } };
  }

  it('a usage error becomes its line, a blank line and the usage on stderr, exit 2', async () => {
    const { out, sink } = capture();
    const code = await runCommand('thing', 'Usage: shoal thing\n', sink, () => {
      throw new UsageError('unknown option --bogus');
    });
    expect(code).toBe(2);
    expect(out).toEqual({ stdout: '', stderr: 'shoal thing: unknown option --bogus\n\nUsage: shoal thing\n' });
  });

  it('any other error is not a usage error: it propagates', async () => {
    const { sink } = capture();
    await expect(runCommand('thing', 'Usage\n', sink, () => Promise.reject(new Error('disk on fire')))).rejects.toThrow('disk on fire');
  });
});

/** Each command: how to call it with an unknown option (after its required arguments), its usage and its options. */
const COMMANDS: { name: string; argv: string[]; usage: string; options: FlagSpec }[] = [
  { name: 'demo', argv: ['demo'], usage: DEMO_USAGE, options: DEMO_OPTIONS },
  { name: 'tree', argv: ['tree'], usage: TREE_USAGE, options: TREE_OPTIONS },
  { name: 'queue', argv: ['queue'], usage: QUEUE_USAGE, options: QUEUE_OPTIONS },
  { name: 'dead-letters', argv: ['dead-letters', 'list'], usage: DEAD_LETTERS_USAGE, options: DEAD_LETTERS_OPTIONS },
  { name: 'report', argv: ['report', 'daily'], usage: REPORT_USAGE, options: REPORT_OPTIONS },
  { name: 'validate-data', argv: ['validate-data', 'candles.csv'], usage: VALIDATE_DATA_USAGE, options: VALIDATE_DATA_OPTIONS },
];

describe('every shoal command', () => {
  function capture() {
    const out = { stdout: '', stderr: '' };
    return { out, sink: { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s) } };
  }

  it.each(COMMANDS)('$name refuses an unknown option with one line, then its usage, exit 2, and does nothing', async ({ name, argv, usage }) => {
    const { out, sink } = capture();
    expect(await main([...argv, '--bogus'], sink)).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe(`shoal ${name}: unknown option --bogus\n\n${usage}`);
  });

  it.each(COMMANDS)('$name --help explains each of its options, gives an example and its exit codes', async ({ name, usage, options }) => {
    const { out, sink } = capture();
    expect(await main([name, '--help'], sink)).toBe(0);
    expect(out.stdout).toBe(usage);
    const documented = new Set([...usage.matchAll(/^ {2}(?:-\w, )?--([a-z-]+)/gm)].map((m) => m[1]));
    expect([...documented].sort()).toEqual([...Object.keys(options), 'help'].sort());
    expect(usage).toMatch(/^Examples?:\n {2}shoal /m);
    expect(usage).toMatch(/^Exit codes: 0 /m);
  });
});
