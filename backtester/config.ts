/**
 * The backtester process's command line and its defaults from the host's environment. Pure.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { endpointsFromEnv } from '../transport/endpoints.ts';
import { serviceWorkersFromEnv } from '../transport/service-capacity.ts';

export type EngineChoice = { readonly kind: 'echo' } | { readonly kind: 'sma' } | { readonly kind: 'fail'; readonly text: string };

export interface BacktesterConfig {
  readonly engine: EngineChoice;
  /** Request PULL bind endpoint. */
  readonly bind: string;
  /** Result PUSH connect endpoint. */
  readonly results: string;
  readonly delayMs: number;
  readonly concurrency: number;
  /** Fallback directory for requests without candles_file (sma engine). */
  readonly dataDir?: string;
  /** Strategy names (as in the request, e.g. Foo-OOS) answered with an error text instead: a service that is broken for some strategies. */
  readonly failFor: ReadonlyMap<string, string>;
  /** CURVE on both sockets: the service's key file, the runtime keys allowed to send, the runtime's key. */
  readonly curve?: { readonly secretKeyFile: string; readonly clientKeys: readonly string[]; readonly serverKey: string };
}

export const USAGE = `usage: npx tsx backtester/main.ts [options]

A backtest service speaking the trading host's protocol: PULL requests on --bind, PUSH
BACKTEST_RESULT frames to --results.

options:
  --engine echo|sma|fail:TEXT  what answers requests (default sma)
                                 echo       instant deterministic metrics from the strategy name
                                 sma        real moving-average crossover backtest on candles_file
                                 fail:TEXT  every request answered with the error TEXT
  --bind ENDPOINT              request socket to bind
                                 (default tcp://*:$SWIMMY_PORT_BACKTEST_REQ, port 5580)
  --results ENDPOINT           result socket to connect to
                                 (default tcp://$SWIMMY_ZMQ_HOST:$SWIMMY_PORT_BACKTEST_RES,
                                 localhost:5581)
  --delay-ms N                 answer each request N ms late (default 0)
  --concurrency N              requests processed at once, its engine workers (default
                                 $SWIMMY_BACKTEST_WORKERS, else the CPU count up to 4, like
                                 the host's service); no more are taken off the socket
  --data-dir DIR               sma: where <data_id>.csv / <SYMBOL>_M1.csv live when a request
                               has no candles_file
  --fail-for NAME=TEXT         answer requests for strategy NAME (as sent, e.g. Foo-OOS) with
                               the error TEXT, whatever the engine (repeatable): a service that
                               is broken for some strategies
  --curve-secret-key-file FILE CURVE on both sockets (default plain TCP, as the host's
                               service): the service's secret key (NAME.key from shoal keys
                               generate, NAME.pub beside it); needs the next two
  --curve-client-key KEY       a runtime public key allowed to send requests (repeatable)
  --curve-server-key KEY       the runtime's public key, required of the result socket
  -h, --help                   this text

Prints "backtester listening on <endpoint>, results to <endpoint>" once ready; stops on
SIGTERM/SIGINT.`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The service's side of the host's endpoints: bind tcp://*:$REQ, connect tcp://$HOST:$RES. */
export function serviceEndpointsFromEnv(env: Record<string, string | undefined>): { bind: string; results: string } {
  const runtimeSide = endpointsFromEnv(env);
  const reqPort = runtimeSide.requests.slice(runtimeSide.requests.lastIndexOf(':') + 1);
  const resPort = runtimeSide.results.slice(runtimeSide.results.lastIndexOf(':') + 1);
  const host = runtimeSide.requests.slice('tcp://'.length, runtimeSide.requests.lastIndexOf(':'));
  return { bind: `tcp://*:${reqPort}`, results: `tcp://${host}:${resPort}` };
}

export function parseEngine(text: string): EngineChoice {
  if (text === 'echo' || text === 'sma') return { kind: text };
  if (text.startsWith('fail:') && text.length > 5) return { kind: 'fail', text: text.slice(5) };
  throw new UsageError(`--engine must be echo, sma or fail:TEXT, got '${text}'`);
}

function nonNegativeInt(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, got '${raw}'`);
  return n;
}

/** Parses argv (without node and the script); `help` when --help was asked. Throws UsageError or RangeError (bad env). */
export function parseBacktesterArgs(argv: readonly string[], env: Record<string, string | undefined>, cpus: number = availableParallelism()): BacktesterConfig | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        engine: { type: 'string' },
        bind: { type: 'string' },
        results: { type: 'string' },
        'delay-ms': { type: 'string' },
        concurrency: { type: 'string' },
        'data-dir': { type: 'string' },
        'fail-for': { type: 'string', multiple: true },
        'curve-secret-key-file': { type: 'string' },
        'curve-client-key': { type: 'string', multiple: true },
        'curve-server-key': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help === true) return 'help';
  const needEnv = values.bind === undefined || values.results === undefined;
  const defaults = needEnv ? serviceEndpointsFromEnv(env) : { bind: '', results: '' };
  return {
    engine: parseEngine(values.engine ?? 'sma'),
    bind: values.bind ?? defaults.bind,
    results: values.results ?? defaults.results,
    delayMs: nonNegativeInt('--delay-ms', values['delay-ms'], 0, 0),
    concurrency: values.concurrency === undefined ? serviceWorkersFromEnv(env, cpus) : nonNegativeInt('--concurrency', values.concurrency, 1, 1),
    ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
    failFor: new Map((values['fail-for'] ?? []).map(parseFailFor)),
    ...curveFlags(values['curve-secret-key-file'], values['curve-client-key'], values['curve-server-key']),
  };
}

/** The three CURVE flags come together or not at all. */
function curveFlags(secretKeyFile: string | undefined, clientKeys: readonly string[] | undefined, serverKey: string | undefined): Pick<BacktesterConfig, 'curve'> {
  if (secretKeyFile === undefined && clientKeys === undefined && serverKey === undefined) return {};
  if (secretKeyFile === undefined || clientKeys === undefined || serverKey === undefined) {
    throw new UsageError('CURVE needs --curve-secret-key-file, at least one --curve-client-key and --curve-server-key together');
  }
  return { curve: { secretKeyFile, clientKeys, serverKey } };
}

function parseFailFor(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) throw new UsageError(`--fail-for must be NAME=TEXT, got '${text}'`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}
