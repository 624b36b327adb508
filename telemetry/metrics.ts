/**
 * The OOS flow's metrics, through the @opentelemetry/api metrics API only. The instruments are
 * data (name, help, unit); what feeds them is the caller's (app/commit-metrics.ts derives the
 * counters and histograms from what the db-writer committed, so they equal the store). Names are
 * already in Prometheus form: the exporter adds `_total` to counters; histograms end in
 * `_seconds` themselves.
 */
import { createNoopMeter, metrics, type Attributes, type Counter, type Histogram, type Meter, type MeterProvider, type BatchObservableResult } from '@opentelemetry/api';

export const METER_NAME = 'shoal';

/** Histogram bucket bounds in seconds, 1 ms to 1 h. */
export const SECONDS_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
]);

interface Instrument {
  readonly name: string;
  readonly help: string;
}

/** Monotonic counters; the attributes each one carries are named in its help. */
export const COUNTERS = Object.freeze({
  enqueued: { name: 'shoal_oos_enqueued', help: 'OOS requests put into the outbox.' },
  sent: { name: 'shoal_oos_sent', help: 'Send attempts started (requests claimed for sending; a claim released unsent is counted in shoal_oos_released).' },
  released: { name: 'shoal_oos_released', help: 'Claims handed back unsent after an earlier send of the same claim failed.' },
  retried: { name: 'shoal_oos_retried', help: 'Failed attempts sent back for another try, by failure_kind.' },
  timedOut: { name: 'shoal_oos_timed_out', help: 'Attempts whose lease ran out without a result.' },
  completed: { name: 'shoal_oos_completed', help: 'Results applied (requests done).' },
  passed: { name: 'shoal_oos_passed', help: 'Applied results that meet the OOS gate of the rank criteria.' },
  failed: { name: 'shoal_oos_failed', help: 'Applied results that miss the OOS gate of the rank criteria.' },
  errorResults: { name: 'shoal_oos_error_results', help: 'Error results from the backtest service, by class.' },
  duplicates: { name: 'shoal_oos_duplicate_results', help: 'Results for a request already done (no effect).' },
  orphans: { name: 'shoal_oos_orphan_results', help: 'Results for an unknown request id.' },
  deadLettered: { name: 'shoal_dead_lettered', help: 'Dead letters stored, by kind (request: a request given up; message: anything else).' },
  replayed: { name: 'shoal_dead_letters_replayed', help: 'Dead letters claimed for a replay.' },
  restarts: { name: 'shoal_actor_restarts', help: 'Actor restarts, by actor path.' },
  gateRejections: { name: 'shoal_oos_gate_rejections', help: 'Requests the data gate refused (data_invalid failures recorded).' },
} satisfies Record<string, Instrument>);

export const HISTOGRAMS = Object.freeze({
  queueDwell: { name: 'shoal_oos_queue_dwell_seconds', help: 'From a request coming due (enqueued, or its retry backoff over) to its claim for sending.' },
  attemptLatency: { name: 'shoal_oos_attempt_latency_seconds', help: 'From the last send of a request to its result being committed.' },
  endToEnd: { name: 'shoal_oos_end_to_end_seconds', help: 'From enqueue to the result being committed.' },
} satisfies Record<string, Instrument>);

export const GAUGES = Object.freeze({
  outbox: { name: 'shoal_oos_outbox_requests', help: 'Requests in the outbox, by state.' },
  inFlight: { name: 'shoal_oos_in_flight', help: 'Requests sent and awaiting a result.' },
  oldestPendingAge: { name: 'shoal_oos_oldest_live_age_seconds', help: 'Age of the oldest live (pending or in-flight) request; 0 when none.' },
  deadLetters: { name: 'shoal_dead_letters', help: 'Dead letters in the store, by state.' },
  mailboxes: { name: 'shoal_actor_mailbox_length', help: 'Messages waiting in each actor mailbox, by actor path.' },
} satisfies Record<string, Instrument>);

export type CounterKey = keyof typeof COUNTERS;
export type HistogramKey = keyof typeof HISTOGRAMS;

/** What the gauges show, read once per collection (a scrape), never before. */
export interface GaugeReading {
  readonly outboxByState: Readonly<Record<string, number>>;
  readonly inFlight: number;
  /** Seconds, or null when nothing is live. */
  readonly oldestLiveAgeSeconds: number | null;
  readonly deadLettersByState: Readonly<Record<string, number>>;
  readonly mailboxes: Iterable<{ readonly path: string; readonly length: number }>;
}

/** Where app/commit-metrics.ts puts what a commit counts: counter increments and histogram observations. */
export interface MetricSink {
  count(counter: CounterKey, value: number, attributes?: Attributes): void;
  observe(histogram: HistogramKey, seconds: number, attributes?: Attributes): void;
}

const COUNTER_KEYS = Object.keys(COUNTERS) as CounterKey[];

export class OosMetrics {
  readonly meter: Meter;
  private readonly counters: Record<CounterKey, Counter>;
  private readonly histograms: Record<HistogramKey, Histogram>;

  /**
   * False when the meter is the API's no-op (no SDK was registered when it was made; the global
   * meter provider is not a proxy, so it stays one): callers may then skip deriving points.
   */
  readonly enabled: boolean;

  constructor(options: { meterProvider?: MeterProvider; version?: string } = {}) {
    this.meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(METER_NAME, options.version);
    this.enabled = this.meter !== createNoopMeter();
    const counters = {} as Record<CounterKey, Counter>;
    for (const [key, i] of Object.entries(COUNTERS)) counters[key as CounterKey] = this.meter.createCounter(i.name, { description: i.help });
    this.counters = counters;
    const histograms = {} as Record<HistogramKey, Histogram>;
    for (const [key, i] of Object.entries(HISTOGRAMS)) {
      histograms[key as HistogramKey] = this.meter.createHistogram(i.name, { description: i.help, unit: 's', advice: { explicitBucketBoundaries: [...SECONDS_BUCKETS] } });
    }
    this.histograms = histograms;
  }

  add(counter: CounterKey, value = 1, attributes?: Attributes): void {
    this.counters[counter].add(value, attributes);
  }

  /**
   * Records what `write` puts in the sink, as one batch (a commit): counters without attributes
   * are summed first, one add per counter per batch, not one per request; the rest go through as
   * they come. Nothing is allocated per point.
   */
  recordBatch(write: (sink: MetricSink) => void): void {
    write(this.sink);
    for (const key of COUNTER_KEYS) {
      const sum = this.sums[key];
      if (sum === 0) continue;
      this.sums[key] = 0;
      this.counters[key].add(sum);
    }
  }

  private readonly sums = Object.fromEntries(COUNTER_KEYS.map((k) => [k, 0])) as Record<CounterKey, number>;

  private readonly sink: MetricSink = {
    count: (counter, value, attributes) => {
      if (attributes !== undefined) this.counters[counter].add(value, attributes);
      else this.sums[counter] += value;
    },
    observe: (histogram, seconds, attributes) => this.histograms[histogram].record(seconds, attributes),
  };

  /** Registers the gauges, all fed by one `read` per collection; returns the function that unregisters them. */
  observe(read: () => GaugeReading): () => void {
    const m = this.meter;
    const outbox = m.createObservableGauge(GAUGES.outbox.name, { description: GAUGES.outbox.help });
    const inFlight = m.createObservableGauge(GAUGES.inFlight.name, { description: GAUGES.inFlight.help });
    const oldest = m.createObservableGauge(GAUGES.oldestPendingAge.name, { description: GAUGES.oldestPendingAge.help, unit: 's' });
    const letters = m.createObservableGauge(GAUGES.deadLetters.name, { description: GAUGES.deadLetters.help });
    const mailboxes = m.createObservableGauge(GAUGES.mailboxes.name, { description: GAUGES.mailboxes.help });
    const callback = (r: BatchObservableResult) => {
      const g = read();
      for (const [state, n] of Object.entries(g.outboxByState)) r.observe(outbox, n, { state });
      r.observe(inFlight, g.inFlight);
      r.observe(oldest, g.oldestLiveAgeSeconds ?? 0);
      for (const [state, n] of Object.entries(g.deadLettersByState)) r.observe(letters, n, { state });
      for (const b of g.mailboxes) r.observe(mailboxes, b.length, { path: b.path });
    };
    const observables = [outbox, inFlight, oldest, letters, mailboxes];
    m.addBatchObservableCallback(callback, observables);
    return () => m.removeBatchObservableCallback(callback, observables);
  }
}
