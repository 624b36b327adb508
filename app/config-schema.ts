/**
 * Every configuration key as data: what it means, its unit, its default, and the values it
 * accepts. `checkConfig` refuses unknown keys and bad values with one line that names the key and
 * what it accepts; docs/configuration.md documents the same table (a test keeps them in step).
 */
import { validateRankCriteria, type RankCriteria } from '../domain/ranks.ts';
import { WEBHOOK_KINDS } from '../domain/alert-delivery.ts';
import { isZ85Key } from '../transport/curve.ts';

/**
 * Checks one value: undefined when it is fine, else what it accepts (a string), or for a nested
 * key where and what (so the message names `retry.maxAttempts`, not just `retry`).
 */
export type ValueCheck = (value: unknown) => string | NestedProblem | undefined;

export interface NestedProblem {
  readonly at: readonly string[];
  readonly accepts: string;
  readonly value: unknown;
}

export interface ConfigKey {
  readonly description: string;
  /** How the default is shown in the docs (it may depend on the environment). */
  readonly defaultText: string;
  readonly unit?: string;
  readonly check: ValueCheck;
  /**
   * A secret (a webhook URL, a token): its value never appears in an error, a log line or printed
   * config. `true`: the whole value; a function: the secret strings inside the value (so the rest,
   * such as a webhook's name, stays readable). Either way an error never echoes the value.
   */
  readonly secret?: boolean | ((value: unknown) => readonly string[]);
}

// ---- value checks (pure) ---------------------------------------------------------------------

export const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): ValueCheck =>
  (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? undefined : `an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}`;

export const positiveNumber: ValueCheck = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? undefined : 'a number > 0');
export const fraction: ValueCheck = (v) => (typeof v === 'number' && v >= 0 && v <= 1 ? undefined : 'a number from 0 to 1');
export const boolean: ValueCheck = (v) => (typeof v === 'boolean' ? undefined : 'true or false');
export const nonEmptyString: ValueCheck = (v) => (typeof v === 'string' && v.length > 0 ? undefined : 'a non-empty string');
export const minLength =
  (n: number): ValueCheck =>
  (v) =>
    typeof v === 'string' && v.length >= n ? undefined : `a string of at least ${n} characters`;

export const oneOf =
  (...values: readonly string[]): ValueCheck =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? undefined : `one of ${values.join(', ')}`;

/** A ZeroMQ TCP endpoint: tcp://HOST:PORT (PORT 0 or * picks an ephemeral one when binding). */
export const tcpEndpoint: ValueCheck = (v) => (typeof v === 'string' && /^tcp:\/\/[^\s:/]+:(\d{1,5}|\*)$/.test(v) ? undefined : 'a tcp://HOST:PORT endpoint');

/** A CURVE public key as Z85 text (40 characters). A public key is not secret: it may be shown. */
export const z85Key: ValueCheck = (v) => (isZ85Key(v) ? undefined : 'a 40-character Z85 CURVE key');

/** A list whose items `item` checks; `accepts` says what the whole is. */
export const listOf =
  (item: ValueCheck, accepts: string): ValueCheck =>
  (v) => {
    if (!Array.isArray(v)) return accepts;
    for (const x of v) if (item(x) !== undefined) return { at: [], accepts, value: x };
    return undefined;
  };

export const httpUrl: ValueCheck = (v) => {
  if (typeof v !== 'string') return 'an http(s) URL';
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : 'an http(s) URL';
  } catch {
    return 'an http(s) URL';
  }
};

/** An object whose keys are checked by `fields`; `partial` allows any subset. */
export const object =
  (fields: Readonly<Record<string, ValueCheck>>, options: { partial?: boolean } = {}): ValueCheck =>
  (v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return `an object with ${Object.keys(fields).join(', ')}`;
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!(k in fields)) return `an object with ${Object.keys(fields).join(', ')} (unknown key '${k}')`;
    for (const [k, check] of Object.entries(fields)) {
      if (!(k in o) || o[k] === undefined) {
        if (options.partial) continue;
        return `an object with ${Object.keys(fields).join(', ')} ('${k}' is missing)`;
      }
      const problem = check(o[k]);
      if (typeof problem === 'string') return { at: [k], accepts: problem, value: o[k] };
      if (problem) return { ...problem, at: [k, ...problem.at] };
    }
    return undefined;
  };

/** A list whose items are checked by `item`; a problem names the item's index. */
export const arrayOf =
  (item: ValueCheck): ValueCheck =>
  (v) => {
    if (!Array.isArray(v)) return 'a list';
    for (let i = 0; i < v.length; i++) {
      const problem = item(v[i]);
      if (typeof problem === 'string') return { at: [String(i)], accepts: problem, value: v[i] };
      if (problem) return { ...problem, at: [String(i), ...problem.at] };
    }
    return undefined;
  };

const webhook = object({ url: httpUrl, kind: oneOf(...WEBHOOK_KINDS), name: nonEmptyString });

/** Webhooks by unique name: the store and the logs know them by it. */
const webhooks: ValueCheck = (v) => {
  const problem = arrayOf(webhook)(v);
  if (problem) return problem;
  const names = (v as { name: string }[]).map((w) => w.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  return twice === undefined ? undefined : `a list of webhooks with unique names ('${twice}' is used twice)`;
};

/** The webhook URLs inside an `alerts` value, whatever else it holds. */
function alertSecrets(v: unknown): string[] {
  const list = (v as { webhooks?: unknown } | null)?.webhooks;
  return Array.isArray(list) ? list.map((w) => (w as { url?: unknown } | null)?.url).filter((u): u is string => typeof u === 'string' && u.length > 0) : [];
}

const backoff = object({ minMs: integer(0), maxMs: integer(0), factor: positiveNumber, jitter: fraction, resetAfterMs: integer(0), firstImmediate: boolean });

const rankCriteria: ValueCheck = (v): string | undefined => {
  try {
    validateRankCriteria(v as RankCriteria);
    return undefined;
  } catch (e) {
    return `valid rank criteria (${(e as Error).message})`;
  }
};

/** The `telemetry` key: what `shoal start` and the demo export (app/telemetry-sdk.ts). */
export interface TelemetryConfig {
  readonly traces?: 'none' | 'console' | 'otlp';
  /** OTLP/HTTP traces URL; default the exporter's own (http://localhost:4318/v1/traces, or $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). */
  readonly otlpEndpoint?: string;
  /** The Prometheus scrape port; 0 serves none. */
  readonly prometheusPort?: number;
  readonly prometheusHost?: string;
  /** The share of new traces recorded (a caller's sampled flag is followed). */
  readonly sampleRatio?: number;
  /** Trace a share (actorSampleRatio) of the actors' message handlings too. */
  readonly actorSpans?: boolean;
  readonly actorSampleRatio?: number;
}

export const TELEMETRY_DEFAULTS = { traces: 'none', prometheusPort: 0, prometheusHost: '127.0.0.1', sampleRatio: 1, actorSpans: false, actorSampleRatio: 0.01 } as const satisfies TelemetryConfig;

// ---- the keys ----------------------------------------------------------------------------------

export const CONFIG_KEYS = {
  dbPath: { description: 'The SQLite database file (created on first use). Everything durable is here.', defaultText: '(required)', check: nonEmptyString },
  synchronous: { description: "SQLite's synchronous mode: FULL survives a power cut; NORMAL may lose the last commits then (not on a process crash).", defaultText: 'FULL', check: oneOf('FULL', 'NORMAL') },
  checkpointIntervalMs: { description: "How often the db-writer copies the WAL into the database (emptying it when idle); each one is logged as checkpoint_started and checkpoint_finished. 0: never (SQLite's own checkpoints only).", defaultText: '30000', unit: 'ms', check: integer(0) },
  walAutocheckpointPages: { description: "SQLite's own checkpoint once a commit leaves this many WAL pages; 0 leaves it to checkpointIntervalMs.", defaultText: '1000', unit: 'pages', check: integer(0) },
  requestEndpoint: {
    description: "The backtest service's request socket; shoal's PUSH connects to it.",
    defaultText: 'tcp://$SWIMMY_ZMQ_HOST:$SWIMMY_PORT_BACKTEST_REQ (tcp://localhost:5580); in bridge mode tcp://localhost:5590',
    check: tcpEndpoint,
  },
  resultEndpoint: {
    description: "shoal's result socket; its PULL binds here and the service's PUSH connects to it.",
    defaultText: 'tcp://127.0.0.1:$SWIMMY_PORT_BACKTEST_RES (tcp://127.0.0.1:5581); in bridge mode tcp://127.0.0.1:5591; tcp://*:... with resultsLoopbackOnly false',
    check: tcpEndpoint,
  },
  resultsLoopbackOnly: {
    description: "Bind the default result socket on 127.0.0.1 only; false binds every interface (tcp://*). Ignored when resultEndpoint is set.",
    defaultText: 'true',
    check: boolean,
  },
  window: {
    description: 'Requests in flight at most. More would wait in the service queue while their leases run.',
    defaultText: "the service's workers: $SWIMMY_BACKTEST_WORKERS, else the CPU count up to 4",
    unit: 'requests',
    check: integer(1),
  },
  leaseMs: { description: "Deadline for one attempt's result; past it the attempt has timed out and is retried.", defaultText: '120000', unit: 'ms', check: integer(1) },
  retry: {
    description: 'Attempts per request (maxAttempts) and the backoff between them (minMs, maxMs, factor, jitter, resetAfterMs, firstImmediate).',
    defaultText: '{ maxAttempts: 5, backoff: 1 s x4 up to 120 s, jitter 0.2 }',
    check: object({ maxAttempts: integer(1), backoff }),
  },
  ratePerSec: { description: 'Sends per second at most (a token bucket of one second).', defaultText: 'unlimited', unit: 'sends/s', check: positiveNumber },
  tickMs: { description: 'How often the sender looks for expired leases and due retries.', defaultText: '1000', unit: 'ms', check: integer(1) },
  replay: {
    description: 'Dead-letter replay: quietMs (an actor quiet this long after a restart has its letters replayed), maxReplays, perSecond, batch, scanIntervalMs, replayAtStartup.',
    defaultText: '{ quietMs: 30000, maxReplays: 3, perSecond: 50, batch: 100, scanIntervalMs: 5000, replayAtStartup: true }',
    check: object({ quietMs: integer(0), maxReplays: integer(1), perSecond: positiveNumber, batch: integer(1), scanIntervalMs: integer(0), replayAtStartup: boolean }, { partial: true }),
  },
  restartBackoff: {
    description: "Delay between consecutive restarts of one actor (minMs, maxMs, factor, jitter, resetAfterMs, firstImmediate).",
    defaultText: '{ first at once, then 100 ms x2 up to 30 s, jitter 0.2, reset after 60 s }',
    check: backoff,
  },
  intensity: { description: 'Restarts a supervisor allows within periodMs before it gives up.', defaultText: '10', unit: 'restarts', check: integer(1) },
  periodMs: { description: 'The window of the restart intensity.', defaultText: '60000', unit: 'ms', check: integer(1) },
  dataDir: { description: 'Historical data: <dataDir>/<SYMBOL>_M1.csv; relative candle paths resolve here.', defaultText: '(none: requests must name candles_file)', check: nonEmptyString },
  rankIntervalMs: { description: 'Rank evaluation period.', defaultText: '60000', unit: 'ms', check: integer(1) },
  rankEvaluation: { description: 'Evaluate ranks on a timer (and once at start); off, cycles run only when asked. Always off in bridge mode (the host ranks).', defaultText: 'true (false in bridge mode)', check: boolean },
  rankCriteria: { description: "Rank thresholds and the OOS gate.", defaultText: "the host's table (docs/protocol.md)", check: rankCriteria },
  oosWindowDays: { description: 'The OOS window when a request names none: the last this many days of data.', defaultText: '180', unit: 'days', check: integer(1) },
  oosRetryMs: { description: 'OOS is asked at most once per this period per strategy.', defaultText: '600000', unit: 'ms', check: integer(0) },
  notificationsFile: { description: 'Notifications are appended to this JSONL file.', defaultText: '<dbPath>.notifications.jsonl', check: nonEmptyString },
  webhookUrl: { description: 'A Discord-compatible webhook for notifications (kept out of logs).', defaultText: '$SHOAL_WEBHOOK_URL, else none', check: httpUrl, secret: true },
  alerts: {
    description:
      'Alerts (docs/operations.md lists the kinds): webhooks (a list of { url, kind: discord or json, name }; the URLs are secrets), dedupWindowMs (the same alert is sent once within it), ratePerMinute (per webhook), serviceSilentMinutes (no result for this long while requests wait is an alert), deadLetterThreshold (more dead letters waiting is an alert). webhookUrl is one more Discord webhook, named webhookUrl.',
    defaultText: '{ webhooks: [], dedupWindowMs: 3600000, ratePerMinute: 30, serviceSilentMinutes: 15, deadLetterThreshold: 10 }',
    check: object({ webhooks, dedupWindowMs: integer(0), ratePerMinute: positiveNumber, serviceSilentMinutes: positiveNumber, deadLetterThreshold: integer(0) }, { partial: true }),
    secret: alertSecrets,
  },
  snapshotIntervalMs: { description: 'How often the tree snapshot for `shoal tree` is published; 0 disables it.', defaultText: '2000', unit: 'ms', check: integer(0) },
  curve: {
    description:
      "ZeroMQ CURVE on every socket shoal owns (docs/security.md): enabled, secretKeyFile (shoal's NAME.key from `shoal keys generate`, mode 0600), publicKeyFile (default: the .pub beside it), serverPublicKey (the public key of the service shoal connects to), allowedClientKeys (public keys allowed to connect to the sockets shoal binds). Off, the sockets are plain TCP, as the host's service speaks.",
    defaultText: '{ enabled: false }',
    check: object(
      { enabled: boolean, secretKeyFile: nonEmptyString, publicKeyFile: nonEmptyString, serverPublicKey: z85Key, allowedClientKeys: listOf(z85Key, 'a list of 40-character Z85 public keys') },
      { partial: true },
    ),
  },
  retention: {
    description:
      'How long finished work is kept: keepDays (whole UTC days of finished requests, results, trades, events, alerts whose deliveries ended, and notifications; 0 keeps everything), batch (rows deleted per commit), intervalMs (between passes). Dead letters and live requests are never deleted; the daily figures of a deleted day are stored first.',
    defaultText: '{ keepDays: 90, batch: 200, intervalMs: 3600000 }',
    check: object({ keepDays: integer(0), batch: integer(1, 10_000), intervalMs: integer(1) }, { partial: true }),
  },

  bridge: {
    description:
      "Bridge mode: shoal sits between the trading host and its backtest service. It takes the host's requests on intakeEndpoint and forwards results to hostResultsEndpoint; the service's defaults move to tcp://localhost:5590 and tcp://*:5591; the rank evaluator is off (the host ranks).",
    defaultText: 'false',
    check: boolean,
  },
  intakeEndpoint: {
    description: "Bridge mode: where shoal's intake (PULL) binds; the host PUSHes its BACKTEST requests there.",
    defaultText: 'tcp://*:$SWIMMY_PORT_BACKTEST_REQ (tcp://*:5580)',
    check: tcpEndpoint,
  },
  hostResultsEndpoint: {
    description: "Bridge mode: the host's result socket; shoal's forwarder (PUSH) connects to it and hands over each stored result.",
    defaultText: 'tcp://$SWIMMY_ZMQ_HOST:$SWIMMY_PORT_BACKTEST_RES (tcp://localhost:5581)',
    check: tcpEndpoint,
  },
  forward: {
    description:
      'Bridge mode: forwarding results to the host: maxAttempts (failed hand-offs before a forward is dead-lettered), maxAgeMs (a result not handed over this long after it was stored is dead-lettered), reopenWindowMs (forwards handed over this long before the host disconnected, or before the last hand-off when shoal starts, are sent again), tickMs (how often pending forwards are looked at).',
    defaultText: '{ maxAttempts: 20, maxAgeMs: 21600000, reopenWindowMs: 10000, tickMs: 1000 }',
    check: object({ maxAttempts: integer(1), maxAgeMs: integer(1), reopenWindowMs: integer(0), tickMs: integer(1) }, { partial: true }),
  },

  // ---- service keys: read by `shoal start` (app/service.ts); the embedded runtime ignores them ----
  logLevel: {
    description: "The lowest level `shoal start` logs: trace, debug, info, warn, error, fatal, or silent.",
    defaultText: 'info ($SHOAL_LOG_LEVEL)',
    check: oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'),
  },
  drainTimeoutMs: {
    description: 'On SIGTERM/SIGINT, how long `shoal start` waits for in-flight requests to get their results before it stops anyway (they are sent again after the next start).',
    defaultText: '30000',
    unit: 'ms',
    check: integer(0),
  },
  control: {
    description:
      "The control endpoint of `shoal start` (docs/operations.md): enabled, host and port (0 picks a free port), or socket (a Unix socket path, instead of host and port), allowRemote (needed to bind anything but loopback), token (the mutations' bearer token; default the `<dbPath>.token` file, created 0600 at first start; kept out of logs), maxBodyBytes, requestTimeoutMs.",
    defaultText: '{ enabled: true, host: 127.0.0.1, port: 0, allowRemote: false, token: <dbPath>.token, maxBodyBytes: 65536, requestTimeoutMs: 10000 }',
    check: object(
      { enabled: boolean, host: nonEmptyString, port: integer(0, 65_535), socket: nonEmptyString, allowRemote: boolean, token: minLength(16), maxBodyBytes: integer(1, 16 * 1024 * 1024), requestTimeoutMs: integer(1) },
      { partial: true },
    ),
  },
  telemetry: {
    description:
      'OpenTelemetry export of `shoal start`: traces (none, console, or otlp: OTLP over HTTP to otlpEndpoint), sampleRatio (share of new traces recorded), prometheusPort (serve metrics for Prometheus at http://prometheusHost:prometheusPort/metrics; 0 serves none), prometheusHost, actorSpans (also trace actorSampleRatio of the actors\' message handlings).',
    defaultText: "{ traces: 'none', sampleRatio: 1, prometheusPort: 0 (off), prometheusHost: '127.0.0.1', actorSpans: false, actorSampleRatio: 0.01 }",
    check: object(
      { traces: oneOf('none', 'console', 'otlp'), otlpEndpoint: httpUrl, sampleRatio: fraction, prometheusPort: integer(0, 65_535), prometheusHost: nonEmptyString, actorSpans: boolean, actorSampleRatio: fraction },
      { partial: true },
    ),
  },
} as const satisfies Record<string, ConfigKey>;

/** The keys only `shoal start` reads (app/service.ts); Shoal.start leaves them out. */
export const SERVICE_KEYS = ['logLevel', 'drainTimeoutMs', 'control', 'telemetry'] as const satisfies readonly ConfigKeyName[];

export type ConfigKeyName = keyof typeof CONFIG_KEYS;

/** A field whose name says it holds a secret (the service's log scrubber uses the same rule). */
export const SECRET_FIELD = /token|secret|password|webhook/i;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The closest known key to a misspelt one (edit distance at most 2), for "did you mean". */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  try {
    const text = JSON.stringify(v);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return typeof v;
  }
}

/** Refuses unknown keys and bad values with one line naming the key and what it accepts. Undefined values are "not set". */
export function checkConfig(input: Readonly<Record<string, unknown>>): void {
  const known = Object.keys(CONFIG_KEYS);
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (!(key in CONFIG_KEYS)) {
      const near = closestKey(key, known);
      throw new ConfigError(`unknown configuration key '${key}'${near ? ` (did you mean '${near}'?)` : ''}; known keys: ${known.join(', ')}`);
    }
    const spec: ConfigKey = CONFIG_KEYS[key as ConfigKeyName];
    const problem = spec.check(value);
    // A secret's value is never echoed, not even a wrong one: it may be the real secret mistyped.
    // A nested field named as a secret (control.token) counts as one.
    const secret = (spec.secret !== undefined && spec.secret !== false) || (typeof problem === 'object' && problem.at.some((k) => SECRET_FIELD.test(k)));
    const shown = (v: unknown) => (secret ? '(a value, not shown: it is secret)' : show(v));
    if (typeof problem === 'string') throw new ConfigError(`configuration key '${key}' must be ${problem}, got ${shown(value)}`);
    if (problem) throw new ConfigError(`configuration key '${[key, ...problem.at].join('.')}' must be ${problem.accepts}, got ${shown(problem.value)}`);
  }
}
