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
 *   ├── notifier                immediate alerts and the daily summary (file, webhook, subscribers)
 *   ├── data-gate               validates the candle file before anything is enqueued
 *   ├── rank-evaluator          periodic, incremental (change_seq watermark); asks the gate for OOS
 *   ├── daily-reporter          the previous day's summary at each UTC day boundary
 *   ├── replayer                dead letters back to their actors after recovery
 *   └── janitor                 retention: old finished work deleted in small batches, daily figures kept
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
import { VerdictCache } from '../domain/candles/index.ts';
import type { DeadLetterSpool } from '../persistence/dead-letter-spool.ts';
import type { OosTracing } from '../telemetry/tracing.ts';
import type { OosConfig } from './config.ts';

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
});

/**
 * What a draining runtime stops first, in this order: the children of /shoal that bring in new
 * work or write besides the flow (so the writer is free for results), then the pipeline's sender
 * (no new sends). The result-handler and the db-writer keep running until the in-flight requests
 * have their results (Shoal.drain).
 */
export const DRAIN_FIRST: readonly string[] = ['rank-evaluator', 'replayer', 'janitor', 'data-gate'];
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
  /** Told every committed write batch (the facade's events come from here). */
  readonly onCommitted?: DbWriterConfig['onCommitted'];
  /** Told each retention pass that deleted or stored something, or failed. */
  readonly onRetentionPass?: (pass: RetentionPass) => void;
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
            { id: 'db-writer', shutdown: 10_000, start: () => dbWriter({ path: config.dbPath, synchronous: config.synchronous, spool: deps.spool, onCommitted: deps.onCommitted }, deps.stats.writer) },
            {
              id: 'result-handler',
              start: () =>
                resultHandler(
                  { endpoint: config.resultEndpoint, dbPath: config.dbPath, writerPath: paths.dbWriter, senderPath: paths.sender, retry: config.retry, onBound: deps.onResultsBound, tracing: deps.tracing },
                  deps.stats.results,
                ),
            },
            {
              id: 'sender',
              start: () =>
                sender(
                  { endpoint: config.requestEndpoint, dbPath: config.dbPath, writerPath: paths.dbWriter, window: config.window, leaseMs: config.leaseMs, retry: config.retry, ratePerSec: config.ratePerSec, tickMs: config.tickMs, tracing: deps.tracing },
                  deps.stats.sender,
                ),
            },
          ],
        }),
      },
      { id: 'notifier', start: () => notifier({ file: config.notificationsFile, webhookUrl: config.webhookUrl }, deps.notifications) },
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
    ],
  };
}
