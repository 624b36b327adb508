/**
 * Fuzzing the command-line parser every command uses (cli/args.ts) with random specs and random
 * command lines made of their own options, near misses and junk. Rules: parsing either succeeds
 * with values of the declared types, or fails with a UsageError of one line that a user can read;
 * never another exception; -h/--help before `--` always wins.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseFlags, UsageError, type FlagSpec, type OptionSpec } from '../../cli/args.ts';
import { START_OPTIONS } from '../../cli/start.ts';
import { fuzzParams, fuzzTimeout } from './runs.ts';

const nameArb = fc.constantFrom('db', 'json', 'limit', 'since', 'to', 'force', 'window', 'data-dir', 'x', 'log-level');
const optionArb: fc.Arbitrary<OptionSpec> = fc.oneof(
  fc.constant({ type: 'boolean' } as const),
  fc.constant({ type: 'string' } as const),
  fc.constant({ type: 'string', choices: ['a', 'b'] } as const),
  fc.record({ type: fc.constant('number' as const), integer: fc.boolean(), min: fc.option(fc.integer({ min: -5, max: 5 }), { nil: undefined }) }),
);
const specArb: fc.Arbitrary<FlagSpec> = fc.dictionary(nameArb, optionArb, { maxKeys: 6 });

function tokenArb(names: readonly string[]): fc.Arbitrary<string> {
  const known = names.length > 0 ? fc.constantFrom(...names) : fc.constant('db');
  return fc.oneof(
    known.map((n) => `--${n}`),
    fc.tuple(known, fc.string({ maxLength: 8 })).map(([n, v]) => `--${n}=${v}`),
    fc.constantFrom('-h', '--help', '--', '-', '--=', '---x', '-x', '--no-json', 'a', 'b', '0', '-1', '1e3', 'NaN', 'Infinity', '', ' ', '9007199254740993', '0x10'),
    fc.string({ maxLength: 12 }),
  );
}

const lineArb = (spec: FlagSpec) => fc.array(tokenArb(Object.keys(spec)), { maxLength: 8 });

function check(spec: FlagSpec, argv: string[], allowPositionals: boolean): void {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv, spec, { allowPositionals });
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(UsageError);
    const message = (e as Error).message;
    expect(message.length).toBeGreaterThan(0);
    expect(message.includes('\n'), JSON.stringify(message)).toBe(false);
    return;
  }
  const end = argv.indexOf('--');
  const asksHelp = (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '-h' || a === '--help');
  if (asksHelp) expect(parsed.help).toBe(true);
  for (const [name, value] of Object.entries(parsed.flags)) {
    const o = spec[name];
    expect(o, `--${name} is in the spec`).toBeDefined();
    if (o.type === 'number') {
      expect(Number.isFinite(value)).toBe(true);
      if (o.integer) expect(Number.isSafeInteger(value)).toBe(true);
      if (o.min !== undefined) expect(Number(value)).toBeGreaterThanOrEqual(o.min);
    } else expect(typeof value).toBe(o.type);
    if (o.type === 'string' && o.choices) expect(o.choices).toContain(value);
  }
  if (!allowPositionals && !parsed.help) expect(parsed.positionals).toEqual([]);
}

const RUNS = 3_000;

describe('CLI argument fuzz', () => {
  it(
    'a random command line against a random spec parses to typed values or fails with a one-line usage error',
    () => {
      fc.assert(
        fc.property(
          specArb.chain((spec) => fc.tuple(fc.constant(spec), lineArb(spec), fc.boolean())),
          ([spec, argv, positionals]) => check(spec, argv, positionals),
        ),
        fuzzParams(RUNS),
      );
    },
    fuzzTimeout(RUNS, 0.5),
  );

  it(
    "a random command line for `shoal start` parses to typed values or fails with a one-line usage error",
    () => {
      fc.assert(
        fc.property(lineArb(START_OPTIONS), (argv) => check(START_OPTIONS, argv, false)),
        fuzzParams(RUNS),
      );
    },
    fuzzTimeout(RUNS, 0.5),
  );
});
