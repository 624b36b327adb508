/**
 * `shoal validate-data FILE [--json] [--start UNIX] [--end UNIX] [--max-gap-hours H]`: runs the
 * candle data gate on one file. Exit codes: 0 valid, 1 invalid, 2 unreadable file or bad usage.
 */
import { DEFAULT_MAX_GAP_HOURS, formatVerdict, isUnreadable, validateCandleFile } from '../domain/candles/index.ts';
import type { CandleCheckOptions } from '../domain/candles/index.ts';

export interface CommandOutput {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export const VALIDATE_DATA_USAGE = `Usage: shoal validate-data FILE [--json] [--start UNIX] [--end UNIX] [--max-gap-hours H]

Validates a historical M1 candle CSV (header timestamp,open,high,low,close[,volume]) as the OOS
data gate does: the whole file, streaming.

  --json               print the verdict as JSON
  --start UNIX         OOS window start (Unix seconds): the first timestamp must be <= it
  --end UNIX           OOS window end (Unix seconds): the last timestamp must be >= it
  --max-gap-hours H    warn about gaps between rows longer than H hours (default ${DEFAULT_MAX_GAP_HOURS})
  -h, --help           show this help

Exit codes: 0 valid, 1 invalid, 2 unreadable file or bad usage.
`;

interface ParsedArgs {
  file: string;
  json: boolean;
  options: CandleCheckOptions;
}

class UsageError extends Error {}

/** `argv` holds the arguments after the command name. Resolves to the exit code. */
export async function validateDataCommand(argv: string[], out: CommandOutput): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out.stdout(VALIDATE_DATA_USAGE);
    return 0;
  }
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    out.stderr(`shoal validate-data: ${err.message}\n\n${VALIDATE_DATA_USAGE}`);
    return 2;
  }
  const verdict = await validateCandleFile(args.file, args.options);
  out.stdout(args.json ? `${JSON.stringify(verdict, null, 2)}\n` : `${formatVerdict(verdict)}\n`);
  if (verdict.valid) return 0;
  return isUnreadable(verdict) ? 2 : 1;
}

function parseArgs(argv: string[]): ParsedArgs {
  const files: string[] = [];
  let json = false;
  let startTime: number | null = null;
  let endTime: number | null = null;
  let maxGapHours: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const takeValue = (): string => {
      if (eq !== -1) return arg.slice(eq + 1);
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${flag} needs a value`);
      return value;
    };
    switch (flag) {
      case '--json':
        if (eq !== -1) throw new UsageError('--json takes no value');
        json = true;
        break;
      case '--start':
        startTime = parseUnixSeconds(flag, takeValue());
        break;
      case '--end':
        endTime = parseUnixSeconds(flag, takeValue());
        break;
      case '--max-gap-hours': {
        const text = takeValue();
        const hours = Number(text);
        if (text.trim() === '' || !Number.isFinite(hours) || hours <= 0) throw new UsageError(`--max-gap-hours must be a positive number of hours, got "${text}"`);
        maxGapHours = hours;
        break;
      }
      default:
        if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${arg}`);
        files.push(arg);
    }
  }
  if (files.length === 0) throw new UsageError('missing FILE');
  if (files.length > 1) throw new UsageError(`expected one FILE, got ${files.length}: ${files.join(' ')}`);
  if (startTime !== null && endTime !== null && startTime > endTime) throw new UsageError(`--start ${startTime} is after --end ${endTime}`);
  return { file: files[0], json, options: { startTime, endTime, maxGapHours } };
}

function parseUnixSeconds(flag: string, text: string): number {
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`${flag} must be an integer Unix time in seconds, got "${text}"`);
  return Number(text);
}
