/**
 * `shoal validate-data FILE [--json] [--start UNIX] [--end UNIX] [--max-gap-hours H]`: runs the
 * candle data gate on one file. Exit codes: 0 valid, 1 invalid, 2 unreadable file or bad usage.
 */
import { DEFAULT_MAX_GAP_HOURS, formatVerdict, isUnreadable, validateCandleFile } from '../domain/candles/index.ts';
import { type CommandOutput, type FlagSpec, UsageError, parseFlags, runCommand } from './args.ts';
import { processTerminal, progress } from './terminal.ts';

export const VALIDATE_DATA_USAGE = `Usage: shoal validate-data FILE [--json] [--start UNIX] [--end UNIX] [--max-gap-hours H]

Validates a historical M1 candle CSV (header timestamp,open,high,low,close[,volume]) as the OOS
data gate does: the whole file, streaming. Errors (bad rows, timestamps out of order, the OOS
window not covered) make it invalid; long gaps are warnings.

  --json               print the verdict as JSON (no progress line)
  --start UNIX         OOS window start (whole Unix seconds): the first timestamp must be <= it
  --end UNIX           OOS window end (whole Unix seconds): the last timestamp must be >= it
  --max-gap-hours H    warn about gaps between rows longer than H hours, H > 0 (default ${DEFAULT_MAX_GAP_HOURS})
  -h, --help           show this help

Examples:
  shoal validate-data /data/historical/USDJPY_M1.csv
  shoal validate-data USDJPY_M1.csv --start 1700000000 --end 1715552000 --json

Exit codes: 0 valid, 1 invalid, 2 unreadable file or bad usage.
`;

export const VALIDATE_DATA_OPTIONS = {
  json: { type: 'boolean' },
  start: { type: 'number', integer: true },
  end: { type: 'number', integer: true },
  'max-gap-hours': { type: 'number' },
} as const satisfies FlagSpec;

/** `argv` holds the arguments after the command name. Resolves to the exit code. */
export async function validateDataCommand(argv: string[], out: CommandOutput): Promise<number> {
  return runCommand('validate-data', VALIDATE_DATA_USAGE, out, async () => {
    const { flags, positionals, help } = parseFlags(argv, VALIDATE_DATA_OPTIONS, { allowPositionals: true });
    if (help) {
      out.stdout(VALIDATE_DATA_USAGE);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError('missing FILE');
    if (positionals.length > 1) throw new UsageError(`expected one FILE, got ${positionals.length}: ${positionals.join(' ')}`);
    const { start, end } = flags;
    const maxGapHours = flags['max-gap-hours'];
    if (maxGapHours !== undefined && maxGapHours <= 0) throw new UsageError(`--max-gap-hours must be a number > 0, got '${maxGapHours}'`);
    if (start !== undefined && end !== undefined && start > end) throw new UsageError(`--start ${start} is after --end ${end}`);
    // A multi-GB file takes a while: a progress line on a terminal, nothing when piped or with --json.
    const p = progress(!flags.json && processTerminal().stderrTty);
    const mb = (n: number) => `${(n / 1_048_576).toFixed(0)} MB`;
    const verdict = await validateCandleFile(positionals[0], {
      startTime: start ?? null,
      endTime: end ?? null,
      maxGapHours,
      onProgress: (read, total) => p.update(`validating ${positionals[0]}: ${mb(read)} of ${mb(total)} (${total > 0 ? Math.floor((100 * read) / total) : 100}%)`),
    });
    p.done();
    out.stdout(flags.json ? `${JSON.stringify(verdict, null, 2)}\n` : `${formatVerdict(verdict)}\n`);
    if (verdict.valid) return 0;
    return isUnreadable(verdict) ? 2 : 1;
  });
}
