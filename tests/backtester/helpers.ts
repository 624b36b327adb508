/** The "runtime" side of the wire for backtester tests: a bound result PULL and a request PUSH. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pull, Push } from 'zeromq';
import { WAIT_DEADLINE_MS } from '../wait.ts';

/** The request frame exactly as the host's protocol notes print it. */
export const REFERENCE_REQUEST_FRAME =
  '((action . "BACKTEST") (strategy (name . "Foo-OOS") (sma_short . 5) (sma_long . 20) (sl . 0.3) (tp . 0.6) (volume . 0.01) (indicator_type . sma) (timeframe . 60)) (request_id . "0193b0b2-...") (data_id "USDJPY_M1") (candles_file "/data/historical/USDJPY_M1.csv") (symbol . "USDJPY") (timeframe 60) (start_time 1700000000) (end_time 1715552000) (include_trades . t))';

export function requestFrame(opts: { requestId?: string; name?: string; candlesFile?: string; includeTrades?: boolean; startTime?: number; endTime?: number; timeframe?: number } = {}): string {
  const name = opts.name ?? 'Foo-OOS';
  const tf = opts.timeframe ?? 60;
  let out = `((action . "BACKTEST") (strategy (name . "${name}") (sma_short . 5) (sma_long . 20) (sl . 0.3) (tp . 0.6) (volume . 0.01) (indicator_type . sma) (timeframe . ${tf}))`;
  if (opts.requestId !== undefined) out += ` (request_id . "${opts.requestId}")`;
  out += ' (data_id "USDJPY_M1")';
  if (opts.candlesFile !== undefined) out += ` (candles_file "${opts.candlesFile}")`;
  out += ` (symbol . "USDJPY") (timeframe ${tf})`;
  if (opts.startTime !== undefined) out += ` (start_time ${opts.startTime})`;
  if (opts.endTime !== undefined) out += ` (end_time ${opts.endTime})`;
  out += opts.includeTrades === false ? ' (include_trades . nil))' : ' (include_trades . t))';
  return out;
}

export interface RuntimeSide {
  /** Where the service's result PUSH should connect. */
  readonly resultEndpoint: string;
  connect(requestEndpoint: string): void;
  send(frame: string): Promise<void>;
  /** The next result frame as text; rejects after `timeoutMs` (long: a deadline, not a wait). */
  next(timeoutMs?: number): Promise<string>;
  close(): void;
}

export async function runtimeSide(): Promise<RuntimeSide> {
  const pull = new Pull({ linger: 0 });
  await pull.bind('tcp://127.0.0.1:*');
  const push = new Push({ linger: 0 });
  return {
    resultEndpoint: pull.lastEndpoint!,
    connect(endpoint) {
      push.connect(endpoint);
    },
    async send(frame) {
      await push.send(frame);
    },
    async next(timeoutMs = WAIT_DEADLINE_MS) {
      pull.receiveTimeout = timeoutMs;
      const [msg] = await pull.receive();
      return msg.toString('utf8');
    },
    close() {
      push.close();
      pull.close();
    },
  };
}

export interface TempDir {
  readonly path: string;
  file(name: string, text: string): string;
  remove(): void;
}

export function tempDir(): TempDir {
  const path = mkdtempSync(join(tmpdir(), 'shoal-backtester-'));
  return {
    path,
    file(name, text) {
      const p = join(path, name);
      writeFileSync(p, text);
      return p;
    },
    remove() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/** M1 CSV text: a sine wave of closes (period in minutes) around 150, one row per minute. */
export function sineCsv(start: number, minutes: number, periodMinutes = 97, amplitude = 0.8): string {
  const lines = ['timestamp,open,high,low,close,volume'];
  let prev = 150;
  for (let i = 0; i < minutes; i++) {
    const close = Number((150 + amplitude * Math.sin((2 * Math.PI * i) / periodMinutes) + 0.05 * Math.sin(i / 3)).toFixed(3));
    const open = prev;
    lines.push(`${start + i * 60},${open},${Math.max(open, close) + 0.01},${Math.min(open, close) - 0.01},${close},${10 + (i % 7)}`);
    prev = close;
  }
  return lines.join('\n') + '\n';
}
