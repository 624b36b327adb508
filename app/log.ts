/**
 * The service's structured log (pino): one JSON object per line, each with `level` (a name),
 * `time` (ISO 8601), `pid`, `event` (what happened: docs/operations.md lists them) and `msg`; on
 * a terminal the same lines in pino-pretty's readable form. Secrets never reach the output: every
 * line is scrubbed of the configuration's secret values as it is written, whatever field (or
 * error text) carries them.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { REDACTED, scrubber } from '../domain/redaction.ts';

export type { Logger } from 'pino';
export { REDACTED, scrubber };

export interface LoggerOptions {
  readonly level: string;
  /** The readable form (a terminal); default JSON lines. */
  readonly pretty?: boolean;
  /** Colours in the readable form (off with NO_COLOR or when not a terminal). */
  readonly colour?: boolean;
  /** Values that must never be written (webhook URLs, tokens). */
  readonly secrets?: readonly string[];
  /** Where lines go; default stdout, written synchronously so no line is lost at exit. */
  readonly destination?: DestinationStream;
}

export async function createLogger(options: LoggerOptions): Promise<Logger> {
  const scrub = scrubber(options.secrets ?? []);
  let destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  if (options.pretty) {
    // Loaded only for a terminal: the JSON path does not pay for it.
    const { prettyFactory } = await import('pino-pretty');
    // One line per event; the start line's full configuration is left to --print-config there.
    const prettify = prettyFactory({ colorize: options.colour ?? false, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l', ignore: 'pid,hostname,config', singleLine: true });
    const target = destination;
    destination = { write: (line: string) => target.write(prettify(line)) };
  }
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names read better than numbers in a journal; the readable form maps them itself.
      formatters: options.pretty ? {} : { level: (label) => ({ level: label }) },
      // Known secret fields are censored by name; the scrubber below catches them anywhere else.
      redact: { paths: ['config.webhookUrl', '*.token', 'config.*.token', 'webhookUrl', 'token'], censor: REDACTED },
      hooks: { streamWrite: scrub },
    },
    destination,
  );
}
