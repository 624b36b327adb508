/**
 * The runtime's telemetry, wired: the tracing the actors use, and the metrics fed by the
 * db-writer's commits (app/commit-metrics.ts), the supervisors' restarts and, at collection time,
 * the store and the actor tree. Providers are the host's (or an entry point's SDK, see
 * app/telemetry-sdk.ts); without them the API's globals, no-op until an SDK is registered.
 */
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import type { ActorSystem, HandleObserver, TreeNode } from '../runtime/index.ts';
import type { CommandOutcome, WriteCommand } from '../persistence/commands.ts';
import type { RankCriteria } from '../domain/ranks.ts';
import { OosMetrics, type GaugeReading } from '../telemetry/metrics.ts';
import { OosTracing } from '../telemetry/tracing.ts';
import { metricsFromCommit } from './commit-metrics.ts';
import type { ShoalStatus } from './api.ts';

export interface TelemetryOptions {
  /** Where spans go; default the global provider (no-op without an SDK). */
  readonly tracerProvider?: TracerProvider;
  /**
   * Where metrics go; default the global provider. The API's global meter provider is not a
   * proxy: an SDK must be registered before the runtime starts for its metrics to be recorded.
   */
  readonly meterProvider?: MeterProvider;
  /** Share of actor message handlings traced as `actor <path>` spans (0 to 1); unset or 0: none, and the kernel is not observed. */
  readonly actorSpanRatio?: number;
}

/** The kernel's handle observer for actor-message spans, when they are asked for. */
export function actorObserverOf(options: TelemetryOptions | undefined): HandleObserver | undefined {
  const ratio = options?.actorSpanRatio ?? 0;
  return ratio > 0 ? new OosTracing({ tracerProvider: options?.tracerProvider, version: VERSION }).actorObserver(ratio) : undefined;
}

const VERSION = '0.1.0';

export class OosTelemetry {
  readonly tracing: OosTracing;
  readonly metrics: OosMetrics;

  constructor(
    private readonly system: ActorSystem,
    private readonly criteria: RankCriteria | undefined,
    options: TelemetryOptions = {},
  ) {
    this.tracing = new OosTracing({ tracerProvider: options.tracerProvider, version: VERSION });
    this.metrics = new OosMetrics({ meterProvider: options.meterProvider, version: VERSION });
  }

  /** The db-writer's commit observer: counters and histograms from what became durable. */
  committed(commands: readonly WriteCommand[], outcomes: readonly CommandOutcome[]): void {
    if (!this.metrics.enabled) return;
    const at = this.system.clock.now();
    this.metrics.recordBatch((sink) => metricsFromCommit(commands, outcomes, at, sink, this.criteria));
  }

  restarted(path: string): void {
    this.metrics.add('restarts', 1, { path });
  }

  /** Registers the gauges on the runtime's own view of itself; returns the function that removes them. */
  observe(status: () => ShoalStatus): () => void {
    return this.metrics.observe((): GaugeReading => {
      const s = status();
      return {
        outboxByState: s.outbox,
        inFlight: s.outbox.in_flight,
        oldestLiveAgeSeconds: s.oldestLiveAgeMs === null ? null : s.oldestLiveAgeMs / 1_000,
        deadLettersByState: s.deadLetters,
        mailboxes: mailboxesOf(this.system.snapshot()),
      };
    });
  }
}

function* mailboxesOf(nodes: readonly TreeNode[]): Generator<{ path: string; length: number }> {
  for (const n of nodes) {
    if (n.kind !== 'supervisor') yield { path: n.path, length: n.mailboxLength };
    yield* mailboxesOf(n.children);
  }
}
