/**
 * The configuration of `shoal start`, from four layers, each later one winning key by key (nested
 * objects such as `retention` merge field by field):
 *
 *   1. built-in defaults, with the socket defaults from the host's SWIMMY_* variables (config.ts);
 *   2. the config file (JSON: one object of the keys in docs/configuration.md);
 *   3. SHOAL_* environment variables (ENV_KEYS);
 *   4. command-line flags (START_FLAGS).
 *
 * Each layer is checked on its own first, so a refusal names where the bad key came from (the
 * file, the variable or the flag); then the merged whole is checked again.
 */
import { readFileSync } from 'node:fs';
import { CONFIG_KEYS, checkConfig, ConfigError, SECRET_FIELD, SERVICE_KEYS, TELEMETRY_DEFAULTS, type ConfigKey, type ConfigKeyName, type TelemetryConfig } from './config-schema.ts';
import { oosConfig, type OosConfig, type OosConfigInput } from './config.ts';
import { controlSettings, type ControlSettings } from './control/settings.ts';

/** Where `shoal start` looks when nothing names a database (the other commands do the same). */
export const DEFAULT_DB = 'shoal.db';

/** A command-line flag of `shoal start` that sets one configuration key. */
export interface StartFlag {
  /** The flag without its dashes. */
  readonly flag: string;
  /** The configuration key it sets; a dotted path for a field of a nested key. */
  readonly key: string;
  readonly type: 'string' | 'number' | 'boolean';
  /** The value's placeholder in --help. */
  readonly value?: string;
  readonly help: string;
}

/**
 * Flag -> configuration key. A flag sets exactly the key named, so `--window 4` and
 * `{"window": 4}` in the file are the same setting; docs/cli.md lists the same table. The flags
 * of the control endpoint (--control-port, --control-socket) join this table with the keys that
 * feature adds.
 */
export const START_FLAGS: readonly StartFlag[] = [
  { flag: 'db', key: 'dbPath', type: 'string', value: 'PATH', help: 'the SQLite database, created on first use (default $SHOAL_DB, else ./shoal.db)' },
  { flag: 'data-dir', key: 'dataDir', type: 'string', value: 'DIR', help: 'historical candles, DIR/<SYMBOL>_M1.csv; relative candle paths resolve here (default $SHOAL_DATA_DIR)' },
  { flag: 'service', key: 'requestEndpoint', type: 'string', value: 'ENDPOINT', help: "the backtest service's request socket, shoal's PUSH connects (default tcp://$SWIMMY_ZMQ_HOST:$SWIMMY_PORT_BACKTEST_REQ)" },
  { flag: 'service-results', key: 'resultEndpoint', type: 'string', value: 'ENDPOINT', help: "where the service's results come in, shoal's PULL binds (default tcp://127.0.0.1:$SWIMMY_PORT_BACKTEST_RES; tcp://*:PORT for every interface)" },
  {
    flag: 'bridge',
    key: 'bridge',
    type: 'boolean',
    help: "bridge mode: take the host's requests on --intake, forward results to --host-results; the service's defaults move to tcp://localhost:5590 and tcp://*:5591; no rank evaluation (the host ranks)",
  },
  { flag: 'intake', key: 'intakeEndpoint', type: 'string', value: 'ENDPOINT', help: "bridge mode: where the host PUSHes its requests, shoal's PULL binds (default tcp://*:$SWIMMY_PORT_BACKTEST_REQ, port 5580)" },
  {
    flag: 'host-results',
    key: 'hostResultsEndpoint',
    type: 'string',
    value: 'ENDPOINT',
    help: "bridge mode: the host's result socket, shoal's PUSH connects (default tcp://$SWIMMY_ZMQ_HOST:$SWIMMY_PORT_BACKTEST_RES, localhost:5581)",
  },
  { flag: 'window', key: 'window', type: 'number', value: 'N', help: "requests in flight at most (default the service's workers: $SWIMMY_BACKTEST_WORKERS, else the CPUs up to 4)" },
  { flag: 'keep-days', key: 'retention.keepDays', type: 'number', value: 'N', help: 'whole days of finished work kept; 0 keeps everything (default 90)' },
  { flag: 'drain-timeout-ms', key: 'drainTimeoutMs', type: 'number', value: 'MS', help: 'on SIGTERM/SIGINT, how long to wait for in-flight results before stopping (default 30000)' },
  { flag: 'control-port', key: 'control.port', type: 'number', value: 'N', help: 'the control endpoint on 127.0.0.1:N; 0 picks a free port, written to <db>.control.json (default 0)' },
  { flag: 'control-socket', key: 'control.socket', type: 'string', value: 'PATH', help: 'the control endpoint on a Unix socket at PATH instead of a TCP port' },
  { flag: 'log-level', key: 'logLevel', type: 'string', value: 'LEVEL', help: 'trace, debug, info, warn, error, fatal or silent (default $SHOAL_LOG_LEVEL, else info)' },
];

/** SHOAL_* variable -> configuration key: a variable set (non-empty) overrides the file. */
export const ENV_KEYS: Readonly<Record<string, ConfigKeyName>> = {
  SHOAL_DB: 'dbPath',
  SHOAL_DATA_DIR: 'dataDir',
  SHOAL_LOG_LEVEL: 'logLevel',
  SHOAL_WEBHOOK_URL: 'webhookUrl',
};

/** The variable naming the config file when --config is not given. */
export const CONFIG_FILE_VARIABLE = 'SHOAL_CONFIG';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** What `shoal start` runs with. */
export interface ServiceSettings {
  /** What Shoal.start gets. */
  readonly runtime: OosConfigInput;
  readonly logLevel: LogLevel;
  readonly drainTimeoutMs: number;
  /** What the service exports (traces, the Prometheus endpoint); unset: nothing. */
  readonly telemetry?: TelemetryConfig;
  /** The config file read, if any. */
  readonly configFile?: string;
  /** The control endpoint's settings as configured (app/control/settings.ts fills in the defaults). */
  readonly control?: Readonly<Record<string, unknown>>;
}

export const SERVICE_DEFAULTS = { logLevel: 'info' as LogLevel, drainTimeoutMs: 30_000 };

export interface ServiceConfigSources {
  /** --config, else $SHOAL_CONFIG, else none. */
  readonly configFile?: string;
  /** Flag values by flag name (START_FLAGS), as parsed. */
  readonly flags: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads the config file; default the file system. */
  readonly readFile?: (path: string) => string;
}

type Layer = Record<string, unknown>;

/** Reads the JSON config file: one object. Errors name the file and say what is wrong, in one line. */
export function readConfigFile(file: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Layer {
  let text: string;
  try {
    text = readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'it is a directory' : err.message;
    throw new ConfigError(`cannot read config file ${file}: ${why}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file} must hold one JSON object of configuration keys, got ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`);
  }
  return parsed as Layer;
}

function envLayer(env: Readonly<Record<string, string | undefined>>): { layer: Layer; from: Record<string, string> } {
  const layer: Layer = {};
  const from: Record<string, string> = {};
  for (const [variable, key] of Object.entries(ENV_KEYS)) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    layer[key] = value;
    from[key] = variable;
  }
  return { layer, from };
}

function flagLayer(flags: ServiceConfigSources['flags']): { layer: Layer; from: Record<string, string> } {
  const layer: Layer = {};
  const from: Record<string, string> = {};
  for (const f of START_FLAGS) {
    const value = flags[f.flag];
    if (value === undefined) continue;
    const [top, ...rest] = f.key.split('.');
    if (rest.length === 0) layer[top] = value;
    else layer[top] = { ...((layer[top] as Layer | undefined) ?? {}), [rest.join('.')]: value };
    from[top] = `--${f.flag}`;
  }
  return { layer, from };
}

function isPlainObject(v: unknown): v is Layer {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `over` on top of `base`, key by key; plain objects merge field by field. */
export function mergeLayers(base: Layer, over: Layer): Layer {
  const out: Layer = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? mergeLayers(out[k] as Layer, v) : v;
  }
  return out;
}

/** Checks one layer; a refusal names its source (the file, or the variable or flag of the key). */
function checkLayer(layer: Layer, source: (key: string) => string): void {
  try {
    // Partial nested objects are fine in one layer when the key's check allows it; a layer is
    // checked as given, so a bad value is refused where it was written.
    checkConfig(layer);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const key = /configuration key '([^'.]+)/.exec(e.message)?.[1];
    throw new ConfigError(`${source(key ?? '')}: ${e.message}`);
  }
}

/** The settings of `shoal start`: the layers read, checked and merged. Throws ConfigError (one line). */
export function loadServiceConfig(sources: ServiceConfigSources): ServiceSettings {
  const configFile = sources.configFile ?? (sources.env[CONFIG_FILE_VARIABLE] || undefined);
  const file = configFile === undefined ? {} : readConfigFile(configFile, sources.readFile);
  if (configFile !== undefined) checkLayer(file, () => `config file ${configFile}`);
  const env = envLayer(sources.env);
  checkLayer(env.layer, (key) => env.from[key] ?? 'environment');
  const flags = flagLayer(sources.flags);
  checkLayer(flags.layer, (key) => flags.from[key] ?? 'command line');
  const merged = mergeLayers(mergeLayers(file, env.layer), flags.layer);
  checkConfig(merged);
  const service: Record<string, unknown> = {};
  const runtime: Layer = { ...merged };
  for (const k of SERVICE_KEYS) {
    service[k] = runtime[k];
    delete runtime[k];
  }
  return {
    runtime: { ...runtime, dbPath: (runtime.dbPath as string | undefined) ?? DEFAULT_DB } as OosConfigInput,
    logLevel: (service.logLevel as LogLevel | undefined) ?? SERVICE_DEFAULTS.logLevel,
    drainTimeoutMs: (service.drainTimeoutMs as number | undefined) ?? SERVICE_DEFAULTS.drainTimeoutMs,
    ...(service.telemetry !== undefined ? { telemetry: service.telemetry as TelemetryConfig } : {}),
    ...(configFile !== undefined ? { configFile } : {}),
    ...(service.control !== undefined ? { control: service.control as Record<string, unknown> } : {}),
  };
}

/** The runtime configuration the settings give, defaults filled in (what the start line logs). */
export function effectiveConfig(
  settings: ServiceSettings,
  env: Readonly<Record<string, string | undefined>>,
): OosConfig & { logLevel: LogLevel; drainTimeoutMs: number; control: ControlSettings; telemetry: TelemetryConfig } {
  return {
    ...oosConfig(settings.runtime, env),
    logLevel: settings.logLevel,
    drainTimeoutMs: settings.drainTimeoutMs,
    control: controlSettings(settings.control),
    telemetry: { ...TELEMETRY_DEFAULTS, ...settings.telemetry },
  };
}

/** A field that names where a secret is kept (curve.secretKeyFile) is a path, not the secret. */
const SECRET_PLACE = /File$/;

/**
 * Every secret value in a configuration: the values of keys marked secret in the schema, and any
 * string field whose name says it is one (a token, a password). The logger removes them from every
 * line it writes, wherever they appear. Secrets kept in files (the CURVE secret key) are added by
 * whoever reads them (app/curve.ts `loadCurve(...).secrets`).
 */
export function secretValues(config: object): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, secret: boolean, name: string) => {
    if (typeof v === 'string') {
      if ((secret || (SECRET_FIELD.test(name) && !SECRET_PLACE.test(name))) && v.length > 0) out.add(v);
    } else if (isPlainObject(v)) {
      for (const [k, x] of Object.entries(v)) walk(x, secret, k);
    }
  };
  for (const [k, v] of Object.entries(config)) {
    const secret = (CONFIG_KEYS as Record<string, ConfigKey>)[k]?.secret;
    if (typeof secret === 'function') for (const s of secret(v)) out.add(s);
    else walk(v, secret === true, k);
  }
  return [...out];
}
