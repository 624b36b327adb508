/**
 * Configuration of the OOS flow, as plain data with defaults. Embedded defaults need nothing but
 * a database path; the socket addresses follow the trading host's environment variables. Every
 * key, its default and unit: app/config-schema.ts and docs/configuration.md.
 */
import type { BackoffPolicy } from '../runtime/backoff.ts';
import type { SynchronousMode } from '../persistence/connection.ts';
import { availableParallelism } from 'node:os';
import { bridgeEndpointsFromEnv, endpointsFromEnv } from '../transport/endpoints.ts';
import { serviceWorkersFromEnv } from '../transport/service-capacity.ts';
import { defaultRetryPolicy, type RetryPolicy } from '../domain/retry-policy.ts';
import type { ReplayPolicy } from '../actors/replayer.ts';
import type { RankCriteria } from '../domain/ranks.ts';
import { defaultRetention, type RetentionPolicy } from '../actors/janitor.ts';
import { defaultForwardPolicy, type ForwardPolicy } from '../actors/forwarder.ts';
import type { WebhookTarget } from '../actors/notifier.ts';
import { checkConfig, SERVICE_KEYS } from './config-schema.ts';
import type { CurveSettings } from './curve.ts';

export interface OosConfig {
  /** SQLite file (created on first use). */
  readonly dbPath: string;
  readonly synchronous: SynchronousMode;
  /** WAL checkpoint period of the db-writer (0: SQLite's own checkpoints only). */
  readonly checkpointIntervalMs: number;
  /** SQLite's own checkpoint after this many WAL pages (0: off). */
  readonly walAutocheckpointPages: number;
  /** The service's request socket (our PUSH connects). */
  readonly requestEndpoint: string;
  /** Our result socket (our PULL binds). */
  readonly resultEndpoint: string;
  /**
   * Requests in flight at most. Default: what one backtest service runs at once, its worker count
   * (`SWIMMY_BACKTEST_WORKERS`, else the CPU count up to 4, as the host's service decides). More
   * would wait in the service's queue while their leases run (transport/service-capacity.ts).
   */
  readonly window: number;
  /** Deadline for one attempt's result. */
  readonly leaseMs: number;
  readonly retry: RetryPolicy;
  readonly ratePerSec?: number;
  readonly tickMs: number;
  readonly replay: Partial<ReplayPolicy>;
  /** Restart backoff of the pipeline's actors. */
  readonly restartBackoff: BackoffPolicy;
  /** Restart intensity of the pipeline supervisor. */
  readonly intensity: number;
  readonly periodMs: number;
  /** Historical data: `<dataDir>/<SYMBOL>_M1.csv` (relative candle paths resolve here). */
  readonly dataDir?: string;
  /** Rank evaluation period. */
  readonly rankIntervalMs: number;
  /** Whether ranks are evaluated on a timer (and once at start); off, cycles run only on request. */
  readonly rankEvaluation: boolean;
  /** Rank thresholds and the OOS gate (default: the host's table). */
  readonly rankCriteria?: RankCriteria;
  /** The OOS window: the last this many days of data. */
  readonly oosWindowDays: number;
  /** OOS is asked at most once per this period per strategy. */
  readonly oosRetryMs: number;
  /** Notifications are appended to this JSONL file (default: beside the database). */
  readonly notificationsFile: string;
  /** A Discord webhook for alerts (none by default); one more target besides `alerts.webhooks`. */
  readonly webhookUrl?: string;
  /** Alert webhooks, deduplication, rate and the sources' thresholds (docs/operations.md). */
  readonly alerts: AlertsPolicy;
  /** How often the tree snapshot for `shoal tree` is published; 0 disables. */
  readonly snapshotIntervalMs: number;
  /** ZeroMQ CURVE on shoal's sockets (app/curve.ts); absent or not enabled: plain TCP. */
  readonly curve?: CurveSettings;
  /** How long finished work is kept (the janitor, actors/janitor.ts). */
  readonly retention: RetentionPolicy;
  /**
   * Bridge mode: shoal sits between the trading host and its backtest service, taking the host's
   * requests on `intakeEndpoint` and forwarding results to `hostResultsEndpoint`; the service
   * moves to 5590/5591, and ranks are the host's (the rank evaluator is off).
   */
  readonly bridge: boolean;
  /** Bridge mode: where the intake's PULL binds (the host PUSHes its requests there). */
  readonly intakeEndpoint: string;
  /** Bridge mode: the host's result socket, which the forwarder's PUSH connects to. */
  readonly hostResultsEndpoint: string;
  /** Bridge mode: how forwarding results to the host is bounded (actors/forwarder.ts). */
  readonly forward: ForwardPolicy;
}

export interface AlertsPolicy {
  readonly webhooks: readonly WebhookTarget[];
  /** An alert of the same kind and key within this window is counted on the first, not sent again. */
  readonly dedupWindowMs: number;
  /** Per webhook. */
  readonly ratePerMinute: number;
  /** Requests waiting and no result for this long: a service_silent alert. */
  readonly serviceSilentMinutes: number;
  /** More dead letters than this waiting for a decision: a dead_letters alert. */
  readonly deadLetterThreshold: number;
}

export const defaultAlerts: AlertsPolicy = Object.freeze({ webhooks: [], dedupWindowMs: 3_600_000, ratePerMinute: 30, serviceSilentMinutes: 15, deadLetterThreshold: 10 });

/** The name `webhookUrl`'s webhook has in the store and the logs. */
export const WEBHOOK_URL_TARGET = 'webhookUrl';

/** Every webhook alerts go to: `alerts.webhooks`, and `webhookUrl` as one more Discord webhook. */
export function alertWebhooks(config: Pick<OosConfig, 'alerts' | 'webhookUrl'>): WebhookTarget[] {
  const extra: WebhookTarget[] = config.webhookUrl ? [{ name: WEBHOOK_URL_TARGET, kind: 'discord', url: config.webhookUrl }] : [];
  return [...config.alerts.webhooks, ...extra];
}

/** What Shoal.start takes: any subset of the keys over a database path (the rest are defaults). */
export type OosConfigInput = Omit<Partial<OosConfig>, 'retention' | 'forward' | 'alerts'> & {
  dbPath: string;
  resultsLoopbackOnly?: boolean;
  retention?: Partial<RetentionPolicy>;
  forward?: Partial<ForwardPolicy>;
  alerts?: Partial<AlertsPolicy>;
};

export const defaultRestartBackoff: BackoffPolicy = Object.freeze({ minMs: 100, maxMs: 30_000, factor: 2, jitter: 0.2, resetAfterMs: 60_000, firstImmediate: true });

export function oosConfig(overrides: OosConfigInput, env: Record<string, string | undefined> = process.env, cpus: number = availableParallelism()): OosConfig {
  // A key the runtime does not know, or a value it cannot use, is refused here, before anything starts.
  checkConfig(overrides);
  const { resultsLoopbackOnly: _loopbackOnly, retention, forward, alerts, ...rest } = overrides;
  // The service's own keys (logLevel, ...) are valid here but mean nothing to the runtime.
  const settings: Record<string, unknown> = { ...rest };
  for (const k of SERVICE_KEYS) delete settings[k];
  // The result socket binds 127.0.0.1 unless every interface is asked for: the host's service
  // connects to localhost, so nothing else needs to reach it (docs/security.md). In bridge mode
  // the host keeps its ports (the intake and the forwarder take its places) and the service moves
  // to 5590/5591.
  const loopbackOnly = overrides.resultsLoopbackOnly ?? true;
  const bridge = overrides.bridge === true;
  const bridged = bridge ? bridgeEndpointsFromEnv(env, { loopbackOnly }) : undefined;
  const endpoints = bridged?.service ?? endpointsFromEnv(env, { loopbackOnly });
  return {
    synchronous: 'FULL',
    checkpointIntervalMs: 30_000,
    walAutocheckpointPages: 1_000,
    requestEndpoint: endpoints.requests,
    resultEndpoint: endpoints.results,
    leaseMs: 120_000,
    retry: defaultRetryPolicy,
    tickMs: 1_000,
    replay: {},
    restartBackoff: defaultRestartBackoff,
    intensity: 10,
    periodMs: 60_000,
    rankIntervalMs: 60_000,
    oosWindowDays: 180,
    oosRetryMs: 600_000,
    notificationsFile: `${overrides.dbPath}.notifications.jsonl`,
    snapshotIntervalMs: 2_000,
    webhookUrl: env.SHOAL_WEBHOOK_URL || undefined,
    ...(definedOnly(settings) as Partial<OosConfig>),
    retention: { ...defaultRetention, ...definedOnly(retention ?? {}) },
    forward: { ...defaultForwardPolicy, ...definedOnly(forward ?? {}) },
    bridge,
    intakeEndpoint: overrides.intakeEndpoint ?? bridged?.intake ?? bridgeEndpointsFromEnv(env).intake,
    hostResultsEndpoint: overrides.hostResultsEndpoint ?? bridged?.hostResults ?? bridgeEndpointsFromEnv(env).hostResults,
    // The host ranks its strategies in bridge mode; a rank evaluator here would ask for OOS runs of its own.
    rankEvaluation: bridge ? false : (overrides.rankEvaluation ?? true),
    alerts: { ...defaultAlerts, ...definedOnly(alerts ?? {}) },
    dbPath: overrides.dbPath,
    // After the spread, so `window: undefined` still gets the default; an explicit window wins
    // without reading the service's variable (a bad value there does not matter then).
    window: overrides.window ?? serviceWorkersFromEnv(env, cpus),
  };
}

/** The keys that are set: `{ window: undefined }` means "not set", so defaults stay. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
