/**
 * `shoal start`: the runtime as a foreground service. It starts Shoal on the settings
 * (service-config.ts), logs what happens (log.ts), and on SIGTERM or SIGINT stops in order: no new
 * work is taken or sent, in-flight requests get up to drainTimeoutMs for their results, the
 * sockets close with the actors, the WAL is checkpointed into the database; then exit 0. A second
 * signal stops at once (exit 128 + the signal's number). When the runtime stops by itself (a
 * supervisor gave up), the service exits 1 so a service manager restarts it.
 */
import path from 'node:path';
import { constants } from 'node:os';
import { checkpoint, openStore } from '../persistence/connection.ts';
import type { SystemEvent } from '../runtime/index.ts';
import type { DeliveryEvent, Notification } from '../actors/notifier.ts';
import { Shoal } from './shoal.ts';
import type { Logger } from './log.ts';
import { effectiveConfig, type ServiceSettings } from './service-config.ts';
import { startControlEndpoint, type ControlEndpoint } from './control/endpoint.ts';
import { TELEMETRY_DEFAULTS, type TelemetryConfig } from './config-schema.ts';
import type { TelemetrySdk } from './telemetry-sdk.ts';

/** Exit codes of `shoal start` (docs/cli.md). */
export const EXIT = { stopped: 0, failed: 1, usage: 2 } as const;

/** The process signals the service stops on; a second one of either stops it at once. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

export interface SignalSource {
  on(signal: StopSignal, listener: () => void): unknown;
  off(signal: StopSignal, listener: () => void): unknown;
}

export interface ServiceIo {
  readonly log: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Default: the process. */
  readonly signals?: SignalSource;
  /** Ends the process at once (the second signal); default process.exit. */
  readonly exit?: (code: number) => void;
  /** Told the running runtime once it has started (an embedding host, tests). */
  readonly onStarted?: (shoal: Shoal) => void;
}

/** 128 + the signal's number, as a shell reports a process a signal ended. */
export function signalExitCode(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

/** Runs the service until it is stopped; resolves with the exit code. */
export async function runService(settings: ServiceSettings, io: ServiceIo): Promise<number> {
  const { log } = io;
  const signals = io.signals ?? process;
  const exit = io.exit ?? ((code: number) => process.exit(code));
  const config = effectiveConfig(settings, io.env);
  const dbPath = path.resolve(config.dbPath);

  // Signals are caught from the start: one that comes while the runtime starts stops it once up.
  let received: StopSignal | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (signal: StopSignal) => {
    if (received === undefined) {
      received = signal;
      wake?.();
      return;
    }
    log.fatal({ event: 'forced_stop', signal, firstSignal: received, exitCode: signalExitCode(signal) }, `second ${signal}: stopping at once, without draining or checkpointing`);
    exit(signalExitCode(signal));
  };
  const listeners = STOP_SIGNALS.map((s) => [s, () => onSignal(s)] as const);
  for (const [s, fn] of listeners) signals.on(s, fn);
  const release = () => {
    for (const [s, fn] of listeners) signals.off(s, fn);
  };

  let shoal: Shoal;
  let telemetry: TelemetrySdk | undefined;
  try {
    telemetry = await startTelemetry(settings.telemetry, log);
    shoal = await Shoal.start(settings.runtime, {
      onResultsBound: (endpoint) => log.info({ event: 'results_bound', endpoint }, `result socket bound at ${endpoint}`),
      onIntakeBound: (endpoint) => log.info({ event: 'intake_bound', endpoint }, `bridge: intake bound at ${endpoint}, where the host sends its requests`),
      telemetry: {
        tracerProvider: telemetry?.tracerProvider,
        meterProvider: telemetry?.meterProvider,
        actorSpanRatio: settings.telemetry?.actorSpans ? (settings.telemetry.actorSampleRatio ?? TELEMETRY_DEFAULTS.actorSampleRatio) : 0,
      },
    });
  } catch (e) {
    await telemetry?.shutdown().catch(() => undefined);
    release();
    log.fatal({ event: 'start_failed', dbPath, error: (e as Error).message }, `shoal could not start: ${(e as Error).message}`);
    return EXIT.failed;
  }
  const unsubscribe = logRuntime(shoal, log);
  log.info({ event: 'start', dbPath, configFile: settings.configFile, config }, `shoal started on ${dbPath}`);
  let control: ControlEndpoint | undefined;
  if (config.control.enabled) {
    try {
      control = await startControlEndpoint(shoal, config.control, {
        onFailure: (e, where) => log.error({ event: 'control_failed', method: where.method, path: where.path, error: (e as Error).message }, `control endpoint: ${where.method} ${where.path} failed: ${(e as Error).message}`),
      });
      log.info({ event: 'control_listening', url: control.url, socket: control.socket, tokenFile: control.tokenFrom === 'config' ? '(the configuration)' : control.tokenFrom }, `control endpoint on ${control.url ?? control.socket}`);
    } catch (e) {
      unsubscribe();
      release();
      log.fatal({ event: 'start_failed', dbPath, error: (e as Error).message }, `shoal could not start: ${(e as Error).message}`);
      await shoal.stop('start failed: control endpoint').catch(() => undefined);
      return EXIT.failed;
    }
  }
  io.onStarted?.(shoal);

  // Until a signal, or until the runtime stops by itself.
  const ended = await new Promise<{ signal: StopSignal } | { stoppedBy: string }>((resolve) => {
    wake = () => resolve({ signal: received! });
    if (received) wake();
    void shoal.system.terminated.then((reason) => resolve({ stoppedBy: reason }));
  });

  if ('stoppedBy' in ended) {
    await control?.close();
    unsubscribe();
    release();
    log.fatal({ event: 'runtime_stopped', reason: ended.stoppedBy }, `the runtime stopped by itself: ${ended.stoppedBy}`);
    await shoal.stop(ended.stoppedBy).catch(() => undefined);
    await telemetry?.shutdown().catch(() => undefined);
    return EXIT.failed;
  }

  const started = Date.now();
  log.info({ event: 'stopping', signal: ended.signal, drainTimeoutMs: settings.drainTimeoutMs }, `${ended.signal}: stopping; waiting up to ${settings.drainTimeoutMs} ms for in-flight requests`);
  const drained = await shoal.drain(settings.drainTimeoutMs);
  if (drained.inFlight === 0) log.info({ event: 'drained', waitedMs: drained.waitedMs }, 'no request in flight');
  else {
    log.warn(
      { event: 'drain_timeout', inFlight: drained.inFlight, waitedMs: drained.waitedMs },
      `${drained.inFlight} request(s) still in flight after ${drained.waitedMs} ms; they stay in the outbox and are sent again after the next start`,
    );
  }
  // Served through the drain, so an operator can watch it; closed (its address file removed) before the stop.
  await control?.close();
  unsubscribe();
  await shoal.stop(`stopped by ${ended.signal}`);
  await stopTelemetry(telemetry, log);
  const wal = checkpointWal(dbPath, log);
  release();
  log.info({ event: 'stopped', signal: ended.signal, inFlight: drained.inFlight, ...wal, stopMs: Date.now() - started, exitCode: EXIT.stopped }, 'shoal stopped');
  return EXIT.stopped;
}

/**
 * The OpenTelemetry SDK when the configuration exports anything; loaded only then, so a service
 * that exports nothing never loads it.
 */
async function startTelemetry(config: TelemetryConfig | undefined, log: Logger): Promise<TelemetrySdk | undefined> {
  if (config === undefined || ((config.traces ?? 'none') === 'none' && !(config.prometheusPort ?? 0))) return undefined;
  const { startTelemetrySdk } = await import('./telemetry-sdk.ts');
  const sdk = await startTelemetrySdk(config, { onDiag: (level, message) => log[level]({ event: 'telemetry_problem', problem: message }, `telemetry: ${message}`) });
  log.info({ event: 'telemetry', traces: config.traces ?? 'none', otlpEndpoint: config.otlpEndpoint, prometheus: sdk.prometheusUrl }, `telemetry: traces ${config.traces ?? 'none'}${sdk.prometheusUrl ? `, metrics at ${sdk.prometheusUrl}` : ''}`);
  return sdk;
}

/** Flushes the spans still buffered; an exporter that fails is logged, never a reason not to stop. */
async function stopTelemetry(sdk: TelemetrySdk | undefined, log: Logger): Promise<void> {
  try {
    await sdk?.shutdown();
  } catch (e) {
    log.warn({ event: 'telemetry_flush_failed', error: (e as Error).message }, `telemetry flush at stop failed: ${(e as Error).message}`);
  }
}

/** Copies the WAL into the database and empties it, so the stopped database is one file. */
function checkpointWal(dbPath: string, log: Logger): { walFrames?: number; checkpointBusy?: boolean } {
  try {
    const store = openStore({ path: dbPath });
    try {
      const r = checkpoint(store, 'TRUNCATE');
      return { walFrames: r.logFrames, checkpointBusy: r.busy };
    } finally {
      store.close();
    }
  } catch (e) {
    // The data is safe in the WAL either way; the next open checkpoints it.
    log.warn({ event: 'checkpoint_failed', error: (e as Error).message }, `WAL checkpoint at stop failed: ${(e as Error).message}`);
    return {};
  }
}

/** What the runtime tells, as log lines (docs/operations.md: what each means and what to do). */
export function logRuntime(shoal: Shoal, log: Logger): () => void {
  // A restart line says what the actor crashed with: the crash comes first, as a system event.
  const lastCrash = new Map<string, string>();
  const stops = [
    shoal.on('restart', (e) => {
      const error = e.error ?? lastCrash.get(e.path);
      log.warn({ event: 'restart', path: e.path, error }, `${e.path} restarted${error ? ` after: ${error}` : ''}`);
    }),
    shoal.on('deadLettered', (e) =>
      log.warn({ event: 'dead_letter', deadLetterId: e.deadLetterId, source: e.source, requestId: e.requestId, reason: e.reason }, `dead letter ${e.deadLetterId} from ${e.source}: ${e.reason}`),
    ),
    shoal.on('connectionRefused', (e) => log.warn({ event: 'connection_refused', source: e.source, detail: e.detail }, `${e.source}: ${e.detail}`)),
    shoal.on('rankChanged', (e) => log.info({ event: 'rank_changed', strategy: e.strategyName, from: e.from, to: e.to, reason: e.reason }, `${e.strategyName}: ${e.from} -> ${e.to}`)),
    shoal.on('result', (e) => log.debug({ event: 'result', requestId: e.requestId, strategy: e.strategyName, sharpe: e.result.sharpe, trades: e.result.trades }, `result for ${e.strategyName}`)),
    shoal.on('retention', (e) => {
      const { type: _type, ...pass } = e;
      if (e.error) log.warn({ event: 'retention_failed', ...pass }, `retention pass failed: ${e.error}`);
      else log.info({ event: 'retention', ...pass }, 'retention pass: old finished work deleted');
    }),
    shoal.on('checkpoint', (e) => {
      const { type: _type, phase, ...fields } = e;
      if (phase === 'started') log.debug({ event: 'checkpoint_started', ...fields }, `checkpoint started (${e.mode}, WAL ${e.walBytes} bytes)`);
      else log.debug({ event: 'checkpoint_finished', ...fields }, `checkpoint finished: ${e.checkpointedFrames} of ${e.walFrames} frames in ${e.durationMs} ms`);
    }),
    shoal.system.events.subscribe((e: SystemEvent) => {
      if (e.type === 'actor_crashed' && e.error) lastCrash.set(e.path, e.error);
      else if (e.type === 'give_up') log.error({ event: 'give_up', path: e.path, reason: e.reason, error: e.error }, `supervisor ${e.path} gave up: ${e.reason ?? e.error ?? ''}`);
      else if (e.type === 'escalated') log.warn({ event: 'escalated', path: e.path, reason: e.reason }, `supervisor ${e.path} escalated to its parent`);
      else if (e.type === 'start_failed') log.error({ event: 'actor_start_failed', path: e.path, error: e.error }, `${e.path} failed to start: ${e.error}`);
    }),
    shoal.notifications.events.subscribe((n: Notification) => {
      const fields = { title: n.title, severity: n.severity, detail: n.body };
      if (n.topic === 'gate_rejected') log.warn({ event: 'gate_rejected', ...fields }, n.title);
      else if (n.topic === 'daily_summary') log.info({ event: 'daily_summary', ...fields }, n.title);
      else if (n.topic === 'daily_summary_failed') log.warn({ event: 'daily_summary_failed', ...fields }, n.title);
      else if (n.topic !== undefined) log[n.severity === 'info' ? 'info' : n.severity === 'warning' ? 'warn' : 'error']({ event: 'alert', kind: n.topic, key: n.key, ...fields }, n.title);
      else log.info({ event: 'notification', ...fields }, n.title);
    }),
    shoal.notifications.deliveries.subscribe((d: DeliveryEvent) => {
      const fields = { alertId: d.alertId, kind: d.kind, webhook: d.target, attempts: d.attempts, error: d.error, unstored: d.unstored };
      if (d.outcome === 'sent') log.debug({ event: 'alert_sent', ...fields }, `alert ${d.alertId} sent to webhook ${d.target}`);
      else if (d.outcome === 'retry') {
        const nextAttemptAt = d.nextAttemptAt === undefined ? undefined : new Date(d.nextAttemptAt).toISOString();
        log.warn({ event: 'alert_retry', ...fields, nextAttemptAt }, `alert ${d.alertId} to webhook ${d.target} failed (${d.error}); trying again at ${nextAttemptAt}`);
      } else log.error({ event: 'alert_dead', ...fields }, `alert ${d.alertId} to webhook ${d.target} given up: ${d.error}`);
    }),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}
