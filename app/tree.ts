/**
 * The OOS supervision tree, as data. The pipeline is rest_for_one in the order db-writer,
 * result-handler, sender: when the writer restarts, its dependants restart too; when the
 * result-handler restarts, the sender does too; a sender crash touches nothing else.
 *
 *   /shoal                      one_for_one
 *   ├── pipeline                rest_for_one
 *   │   ├── db-writer           the only writer, group commit
 *   │   ├── result-handler      PULL socket -> validated results -> db-writer
 *   │   └── sender              outbox -> PUSH socket, leases, retries
 *   ├── notifier                alerts stored, then delivered to webhooks; the daily summary (file, subscribers)
 *   ├── data-gate               validates the candle file before anything is enqueued
 *   ├── rank-evaluator          periodic, incremental (change_seq watermark); asks the gate for OOS
 *   ├── daily-reporter          the previous day's summary at each UTC day boundary
 *   ├── replayer                dead letters back to their actors after recovery
 *   ├── janitor                 retention: old finished work deleted in small batches, daily figures kept
 *   ├── forwarder               bridge mode: stored results of host requests -> the host's result socket
 *   ├── intake                  bridge mode: the host's requests (PULL) -> decode -> data gate -> outbox
 *   └── alert-watch             alerts from the store's state: dead letters waiting, the service silent
 */
import { actorPath } from '../runtime/index.ts';
import type { SupervisorSpec } from '../supervisors/index.ts';
import { dbWriter, DbWriterHealth, type DbWriterConfig, type DbWriterMessage } from '../actors/db-writer.ts';
import { resultHandler, ResultStats, type ResultHandlerMessage } from '../actors/result-handler.ts';
import { sender, SenderStats, type SenderMessage } from '../actors/sender.ts';
import { replayer, type ReplayerMessage, type ReplayRoute } from '../actors/replayer.ts';
import { NotificationChannel, notifier, type NotifierMessage } from '../actors/notifier.ts';
import { dataGate, GateStats, type DataGateMessage } from '../actors/data-gate.ts';
import { rankEvaluator, RankEvaluatorStats, type RankEvaluatorMessage } from '../actors/rank-evaluator.ts';
import { dailyReporter, DailyReporterStats, type DailyReporterMessage } from '../actors/daily-reporter.ts';
import { janitor, JanitorStats, type JanitorMessage, type RetentionPass } from '../actors/janitor.ts';
import { intake, IntakeStats, type IntakeMessage } from '../actors/intake.ts';
import { forwarder, ForwarderStats, type ForwarderMessage } from '../actors/forwarder.ts';
import { alertWatch, AlertWatchStats, type AlertWatchMessage } from '../actors/alert-watch.ts';
import type { StoreError } from '../persistence/errors.ts';
import { VerdictCache } from '../domain/candles/index.ts';
import type { DeadLetterSpool } from '../persistence/dead-letter-spool.ts';
import type { OosTracing } from '../telemetry/tracing.ts';
import { alertWebhooks, type OosConfig } from './config.ts';
import type { SocketCurve } from './curve.ts';

export const ROOT = 'shoal';
const root = `/${ROOT}`;
const pipeline = `${root}/pipeline`;
/** Where each actor of the tree runs, with the messages it takes: actors address each other by these. */
export const paths = Object.freeze({
  root,
  pipeline,
  dbWriter: actorPath<DbWriterMessage>(`${pipeline}/db-writer`),
  resultHandler: actorPath<ResultHandlerMessage>(`${pipeline}/result-handler`),
  sender: actorPath<SenderMessage>(`${pipeline}/sender`),
  notifier: actorPath<NotifierMessage>(`${root}/notifier`),
  gate: actorPath<DataGateMessage>(`${root}/data-gate`),
  rankEvaluator: actorPath<RankEvaluatorMessage>(`${root}/rank-evaluator`),
  dailyReporter: actorPath<DailyReporterMessage>(`${root}/daily-reporter`),
  replayer: actorPath<ReplayerMessage>(`${root}/replayer`),
  janitor: actorPath<JanitorMessage>(`${root}/janitor`),
  forwarder: actorPath<ForwarderMessage>(`${root}/forwarder`),
  intake: actorPath<IntakeMessage>(`${root}/intake`),
  alertWatch: actorPath<AlertWatchMessage>(`${root}/alert-watch`),
});

/**
 * What a draining runtime stops first, in this order: the children of /shoal that bring in new
 * work or write besides the flow (so the writer is free for results), then the pipeline's sender
 * (no new sends). The result-handler and the db-writer keep running until the in-flight requests
 * have their results (Shoal.drain).
 */
export const DRAIN_FIRST: readonly string[] = ['intake', 'rank-evaluator', 'replayer', 'janitor', 'data-gate'];
export const DRAIN_PIPELINE_FIRST: readonly string[] = ['sender'];

/** Counters that outlive restarts of the actors they describe. */
export interface OosStats {
  readonly writer: DbWriterHealth;
  readonly sender: SenderStats;
  readonly results: ResultStats;
  readonly gate: GateStats;
  readonly ranks: RankEvaluatorStats;
  readonly reports: DailyReporterStats;
  readonly janitor: JanitorStats;
  /** Bridge mode's actors (zero outside it). */
  readonly intake: IntakeStats;
  readonly forwarder: ForwarderStats;
  readonly alertWatch: AlertWatchStats;
}

export function newOosStats(): OosStats {
  return {
    writer: new DbWriterHealth(),
    sender: new SenderStats(),
    results: new ResultStats(),
    gate: new GateStats(),
    ranks: new RankEvaluatorStats(),
    reports: new DailyReporterStats(),
    janitor: new JanitorStats(),
    intake: new IntakeStats(),
    forwarder: new ForwarderStats(),
    alertWatch: new AlertWatchStats(),
  };
}

export interface TreeDeps {
  readonly stats: OosStats;
  /** Notifications, for subscribers in the host. */
  readonly notifications: NotificationChannel;
  /** Candle verdicts, kept across gate restarts. */
  readonly verdicts: VerdictCache;
  readonly spool: DeadLetterSpool;
  /** How letters are replayed by what they hold (app/replay-routes.ts). */
  readonly replayRoutes: readonly ReplayRoute[];
  readonly onResultsBound?: (endpoint: string) => void;
  /** Bridge mode: told the intake's bound endpoint. */
  readonly onIntakeBound?: (endpoint: string) => void;
  /** Told every committed write batch (the facade's events come from here). */
  readonly onCommitted?: DbWriterConfig['onCommitted'];
  /** Told each retention pass that deleted or stored something, or failed. */
  readonly onRetentionPass?: (pass: RetentionPass) => void;
  /** Told each write batch the database refused as a whole (the disk full, read-only, ...). */
  readonly onBatchFailed?: (error: StoreError) => void;
  /** Told as each periodic WAL checkpoint starts and finishes. */
  readonly onCheckpoint?: DbWriterConfig['onCheckpoint'];
  /** CURVE options of the sockets (app/curve.ts), when enabled. */
  readonly curve?: SocketCurve;
  /** The spans of each request (enqueue, sends, results, replays); default the global provider's. */
  readonly tracing?: OosTracing;
}

export function oosTree(config: OosConfig, deps: TreeDeps): SupervisorSpec {
  const flags = { intensity: config.intensity, periodMs: config.periodMs, backoff: config.restartBackoff };
  return {
    strategy: 'one_for_one',
    ...flags,
    children: [
      {
        id: 'pipeline',
        type: 'supervisor',
        start: () => ({
          strategy: 'rest_for_one',
          ...flags,
          children: [
            {
              id: 'db-writer',
              shutdown: 10_000,
              start: () =>
                dbWriter(
                  {
                    path: config.dbPath,
                    synchronous: config.synchronous,
                    checkpointIntervalMs: config.checkpointIntervalMs,
                    walAutocheckpointPages: config.walAutocheckpointPages,
                    spool: deps.spool,
                    onCommitted: deps.onCommitted,
                    onBatchFailed: deps.onBatchFailed,
                    onCheckpoint: deps.onCheckpoint,
                  },
                  deps.stats.writer,
                ),
            },
            {
              id: 'result-handler',
              start: () =>
                resultHandler(
                  {
                    endpoint: config.resultEndpoint,
                    dbPath: config.dbPath,
                    writerPath: paths.dbWriter,
                    senderPath: paths.sender,
                    retry: config.retry,
                    onBound: deps.onResultsBound,
                    curve: deps.curve?.server,
                    tracing: deps.tracing,
                    ...(config.bridge ? { forwarderPath: paths.forwarder } : {}),
                  },
                  deps.stats.results,
                ),
            },
            {
              id: 'sender',
              start: () =>
                sender(
                  { endpoint: config.requestEndpoint, dbPath: config.dbPath, writerPath: paths.dbWriter, window: config.window, leaseMs: config.leaseMs, retry: config.retry, ratePerSec: config.ratePerSec, tickMs: config.tickMs, curve: deps.curve?.client, tracing: deps.tracing },
                  deps.stats.sender,
                ),
            },
          ],
        }),
      },
      {
        id: 'notifier',
        start: () =>
          notifier(
            {
              file: config.notificationsFile,
              dbPath: config.dbPath,
              writerPath: paths.dbWriter,
              webhooks: alertWebhooks(config),
              dedupWindowMs: config.alerts.dedupWindowMs,
              ratePerMinute: config.alerts.ratePerMinute,
            },
            deps.notifications,
          ),
      },
      {
        id: 'data-gate',
        start: () => dataGate({ writerPath: paths.dbWriter, senderPath: paths.sender, notifierPath: paths.notifier, cache: deps.verdicts, dataDir: config.dataDir, tracing: deps.tracing }, deps.stats.gate),
      },
      {
        id: 'rank-evaluator',
        start: () =>
          rankEvaluator(
            {
              dbPath: config.dbPath,
              writerPath: paths.dbWriter,
              gatePath: paths.gate,
              dataDir: config.dataDir ?? '.',
              criteria: config.rankCriteria,
              // Off: no first cycle, and the timer so far out that only requests run cycles.
              intervalMs: config.rankEvaluation ? config.rankIntervalMs : 2 ** 31 - 1,
              runAtStart: config.rankEvaluation,
              oosWindowDays: config.oosWindowDays,
              oosRetryMs: config.oosRetryMs,
            },
            deps.stats.ranks,
          ),
      },
      {
        id: 'daily-reporter',
        start: () => dailyReporter({ dbPath: config.dbPath, writerPath: paths.dbWriter, notifierPath: paths.notifier, criteria: config.rankCriteria }, deps.stats.reports),
      },
      { id: 'replayer', start: () => replayer({ dbPath: config.dbPath, writerPath: paths.dbWriter, policy: config.replay, routes: deps.replayRoutes, tracing: deps.tracing }) },
      {
        id: 'janitor',
        start: () =>
          janitor(
            { dbPath: config.dbPath, writerPath: paths.dbWriter, notifierPath: paths.notifier, policy: config.retention, criteria: config.rankCriteria, onPass: deps.onRetentionPass },
            deps.stats.janitor,
          ),
      },
      ...(config.bridge ? bridgeChildren(config, deps) : []),
      {
        id: 'alert-watch',
        start: () =>
          alertWatch(
            {
              dbPath: config.dbPath,
              notifierPath: paths.notifier,
              deadLetterThreshold: config.alerts.deadLetterThreshold,
              serviceSilentMs: config.alerts.serviceSilentMinutes * 60_000,
              endpoint: config.requestEndpoint,
              lastResultAt: () => deps.stats.results.lastFrameAt,
            },
            deps.stats.alertWatch,
          ),
      },
    ],
  };
}

/** Bridge mode's children: the forwarder first (results may wait from a previous run), then the intake (new work). */
function bridgeChildren(config: OosConfig, deps: TreeDeps): SupervisorSpec['children'] {
  return [
    {
      id: 'forwarder',
      start: () => forwarder({ endpoint: config.hostResultsEndpoint, dbPath: config.dbPath, writerPath: paths.dbWriter, policy: config.forward }, deps.stats.forwarder),
    },
    {
      id: 'intake',
      start: () =>
        intake({ endpoint: config.intakeEndpoint, writerPath: paths.dbWriter, gatePath: paths.gate, senderPath: paths.sender, onBound: deps.onIntakeBound }, deps.stats.intake),
    },
  ];
}
