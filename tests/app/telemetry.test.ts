/**
 * Telemetry of the running OOS flow, with real sockets and a real store, recorded by the SDK's
 * in-memory exporters (and a real Prometheus scrape on loopback): the spans of a request form one
 * trace whatever happens to it, and the metrics say what the store says.
 */
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { echoEngine, failingEngine, type BacktestEngine } from '../../backtester/engines.ts';
import { encodeBacktestResult } from '../../protocol/index.ts';
import { getRequest } from '../../persistence/outbox.ts';
import { listDeadLetters } from '../../persistence/dead-letters.ts';
import { passesOosGate } from '../../domain/ranks.ts';
import { paths } from '../../app/tree.ts';
import { useTempStores } from '../persistence/helpers.ts';
import { freePort, hostStrategy, pipeline, rawResultPush, rawService, requestInput, until, type Pipeline } from './pipeline-harness.ts';

const msOf = (t: readonly [number, number]) => t[0] * 1_000 + t[1] / 1e6;

const temp = useTempStores();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  cleanups.push(() => provider.shutdown());
  return { exporter, provider };
}

function metering() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Collected when the test asks (forceFlush), never on a timer.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  cleanups.push(() => provider.shutdown());
  /** Each metric's data points, from a fresh collection. */
  const collect = async (): Promise<Map<string, DataPoint<unknown>[]>> => {
    exporter.reset();
    await reader.forceFlush();
    const out = new Map<string, DataPoint<unknown>[]>();
    for (const rm of exporter.getMetrics()) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) out.set(m.descriptor.name, m.dataPoints as DataPoint<unknown>[]);
    return out;
  };
  return { provider, collect };
}

async function enqueued(p: Pipeline, name: string, options: { traceparent?: string } = {}): Promise<string> {
  const o = await p.shoal.enqueue(name, requestInput(name), options);
  if (o.status !== 'enqueued') throw new Error(`${name} not enqueued: ${JSON.stringify(o)}`);
  return o.requestId;
}

/** An engine that answers `error` to the strategies in `failing` and an echo to every other. */
function switchable(failing: Set<string>, error: string): BacktestEngine {
  return (req) => (failing.has(req.strategy.name) ? failingEngine(error)(req) : echoEngine(req));
}

const named = (spans: readonly ReadableSpan[], prefix: string) => spans.filter((s) => s.name.startsWith(prefix));
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const idOf = (s: ReadableSpan) => s.spanContext().spanId;

const fastRetry = { minMs: 10, maxMs: 10, factor: 1, jitter: 0, resetAfterMs: 0, firstImmediate: false };

describe('traces', () => {
  it('one request is one trace across a retry, its death and its replay: enqueue at the root, every send, result and replay its child, each commit an event of the step it made durable', async () => {
    const { exporter, provider } = tracing();
    const failing = new Set(['T-OOS']);
    const p = await pipeline(temp.dir(), { engine: switchable(failing, 'Guardian process failure'), config: { retry: { maxAttempts: 2, backoff: fastRetry } }, telemetry: { tracerProvider: provider } });
    cleanups.push(() => p.close());
    await p.shoal.upsertStrategies([hostStrategy('T')]);
    const id = await enqueued(p, 'T');
    await p.waitFor(() => getRequest(p.reader, id)?.state === 'dead', 'the request to fail twice (a retry, then its death)');
    failing.clear();
    const [letter] = listDeadLetters(p.reader, { requestId: id, limit: 10 });
    await p.shoal.replay({ ids: [letter.id] });
    await p.waitFor(() => getRequest(p.reader, id)?.state === 'done', 'the replayed request to complete');
    await until(() => named(exporter.getFinishedSpans(), 'process').length === 3, 'the third result span');

    const spans = exporter.getFinishedSpans();
    const [enqueue] = named(spans, 'create');
    expect(named(spans, 'create')).toHaveLength(1);
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([enqueue.spanContext().traceId]));
    expect(parentOf(enqueue)).toBeUndefined();
    expect(enqueue.kind).toBe(SpanKind.PRODUCER);
    expect(enqueue.attributes).toMatchObject({ 'messaging.system': 'zeromq', 'messaging.operation.type': 'create', 'messaging.message.id': id, 'shoal.outcome': 'enqueued' });
    // The stored traceparent is the enqueue span's context.
    expect(getRequest(p.reader, id)?.traceparent).toBe(`00-${enqueue.spanContext().traceId}-${idOf(enqueue)}-01`);
    expect(named(spans, 'data_gate check').map(parentOf)).toEqual([idOf(enqueue)]);

    const sends = named(spans, 'send');
    expect(sends).toHaveLength(3);
    for (const s of sends) {
      expect(s.kind).toBe(SpanKind.PRODUCER);
      expect(parentOf(s)).toBe(idOf(enqueue));
      expect(s.attributes).toMatchObject({ 'messaging.system': 'zeromq', 'messaging.operation.type': 'send', 'messaging.destination.name': p.requestEndpoint, 'messaging.message.id': id });
    }
    const processed = named(spans, 'process').sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    for (const s of processed) {
      expect(s.kind).toBe(SpanKind.CONSUMER);
      expect(parentOf(s)).toBe(idOf(enqueue));
      expect(s.attributes).toMatchObject({ 'messaging.operation.type': 'process', 'messaging.message.id': id });
    }
    // Errors are span status and an exception event; the answer that completed it is not an error.
    expect(processed.map((s) => s.attributes['shoal.outcome'])).toEqual(['retried', 'dead_lettered', 'applied']);
    expect(processed.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR, SpanStatusCode.UNSET]);
    expect(processed[0].events.find((e) => e.name === 'exception')?.attributes).toMatchObject({ 'exception.type': 'error_result', 'exception.message': expect.stringContaining('Guardian process failure') });

    const [replay] = named(spans, 'replay dead letter');
    expect(parentOf(replay)).toBe(idOf(enqueue));
    expect(replay.links.map((l) => l.context.spanId)).toEqual([idOf(enqueue)]);
    expect(replay.attributes).toMatchObject({ 'shoal.dead_letter.id': letter.id, 'messaging.message.id': id });

    // Each step made durable carries its commit as an event at the commit's answer: the enqueue, and each handled result.
    expect(named(spans, 'commit')).toEqual([]);
    for (const s of [enqueue, ...processed]) {
      const commits = s.events.filter((e) => e.name === 'commit');
      expect(commits).toHaveLength(1);
      expect(commits[0].attributes).toMatchObject({ 'db.system.name': 'sqlite', 'db.operation.batch.size': expect.any(Number), 'shoal.commit.wait_ms': expect.any(Number) });
      expect(commits[0].attributes?.['db.operation.batch.size']).toBeGreaterThan(0);
    }
    // A result's span ends when what it did is durable (both times from the runtime's clock).
    for (const s of processed) expect(msOf(s.events.find((e) => e.name === 'commit')!.time)).toBe(msOf(s.endTime));
  });

  it("the frame carries the send attempt's context, a result without a traceparent joins the request's trace by request_id, and a caller's traceparent is continued", async () => {
    const { exporter, provider } = tracing();
    const p = await pipeline(temp.dir(), { telemetry: { tracerProvider: provider } });
    cleanups.push(() => p.close());
    const service = await rawService(p.requestEndpoint);
    cleanups.push(async () => service.close());
    await p.connected();
    const results = await rawResultPush(p.resultEndpoint);
    cleanups.push(async () => results.close());
    await p.shoal.upsertStrategies([hostStrategy('X')]);
    const callerTrace = 'a1'.repeat(16);
    const callerSpan = 'b2'.repeat(8);
    const id = await enqueued(p, 'X', { traceparent: `00-${callerTrace}-${callerSpan}-01` });
    await until(() => service.frames.length === 1, 'the request frame');

    const [enqueue] = named(exporter.getFinishedSpans(), 'create');
    expect(enqueue.spanContext().traceId).toBe(callerTrace);
    expect(parentOf(enqueue)).toBe(callerSpan);
    await until(() => named(exporter.getFinishedSpans(), 'send').length === 1, 'the send span');
    const [send] = named(exporter.getFinishedSpans(), 'send');
    expect(service.frames[0]).toContain(`(traceparent . "00-${callerTrace}-${idOf(send)}-01")`);

    const frame = encodeBacktestResult({ kind: 'success', requestId: id, strategyName: 'X-OOS', trades: 212, wins: 118, losses: 94, pnl: 3.21, sharpe: 0.52, sortino: 0.8, maxDrawdown: 0.031, winRate: 0.5566, profitFactor: 1.34 });
    expect(frame).not.toContain('traceparent');
    await results.send(frame);
    await until(() => named(exporter.getFinishedSpans(), 'process').length === 1, 'the result span');
    const [processed] = named(exporter.getFinishedSpans(), 'process');
    expect(processed.spanContext().traceId).toBe(callerTrace);
    expect(parentOf(processed)).toBe(idOf(enqueue));
    expect(processed.links).toEqual([]);
  });
});

describe('actor-message spans', () => {
  it('are off by default; asked for, the sampled handlings of the pipeline actors are spans of their own', async () => {
    const { exporter, provider } = tracing();
    const p = await pipeline(temp.dir(), { engine: echoEngine, telemetry: { tracerProvider: provider, actorSpanRatio: 1 } });
    cleanups.push(() => p.close());
    await p.shoal.upsertStrategies([hostStrategy('A')]);
    const id = await enqueued(p, 'A');
    await p.waitFor(() => getRequest(p.reader, id)?.state === 'done', 'the request to complete');
    await until(() => exporter.getFinishedSpans().some((s) => s.name === `actor ${paths.resultHandler}`), 'a result-handler span');
    const names = new Set(exporter.getFinishedSpans().map((s) => s.name));
    for (const path of [paths.gate, paths.dbWriter, paths.sender, paths.resultHandler]) expect(names).toContain(`actor ${path}`);
  });
});

describe('metrics', () => {
  /** Counter totals by name, summed over attributes (or only those matching `where`). */
  const total = (m: Map<string, DataPoint<unknown>[]>, name: string, where: Record<string, string> = {}) =>
    (m.get(name) ?? []).filter((d) => Object.entries(where).every(([k, v]) => d.attributes[k] === v)).reduce((n, d) => n + (d.value as number), 0);
  const count = (p: Pipeline, sql: string) => (p.reader.sqlite.prepare(`select count(*) as n from ${sql}`).get() as { n: number }).n;

  it('after a scripted run (results, a retry, a death, a gate rejection, an orphan, a duplicate) every counter equals the count in the store', async () => {
    const { provider, collect } = metering();
    const dir = temp.dir();
    // Dead-OOS fails every time (a retry, then its death); Retry-OOS fails once, then succeeds.
    const seen = new Map<string, number>();
    const engine: BacktestEngine = (req) => {
      const n = (seen.get(req.strategy.name) ?? 0) + 1;
      seen.set(req.strategy.name, n);
      const fails = req.strategy.name === 'Dead-OOS' || (req.strategy.name === 'Retry-OOS' && n === 1);
      return fails ? failingEngine('Guardian process failure')(req) : echoEngine(req);
    };
    const p = await pipeline(dir, { engine, config: { retry: { maxAttempts: 2, backoff: fastRetry } }, telemetry: { meterProvider: provider } });
    cleanups.push(() => p.close());
    const names = ['A', 'B', 'C', 'Retry', 'Dead'];
    await p.shoal.upsertStrategies([...names, 'Bad'].map((n) => hostStrategy(n)));
    const ids = await Promise.all(names.map((n) => enqueued(p, n)));
    fs.writeFileSync(path.join(dir, 'bad.csv'), 'timestamp,open,high,low,close,volume\nnot,a,candle,row,at,all\n');
    expect((await p.shoal.enqueue('Bad', requestInput('Bad', { candlesFile: path.join(dir, 'bad.csv') }))).status).toBe('rejected');
    await p.waitFor(() => ids.every((id) => ['done', 'dead'].includes(getRequest(p.reader, id)!.state)), 'every request to end');
    const push = await rawResultPush(p.resultEndpoint);
    cleanups.push(async () => push.close());
    const success = (requestId: string) => encodeBacktestResult({ kind: 'success', requestId, strategyName: 'A-OOS', trades: 212, wins: 118, losses: 94, pnl: 3.21, sharpe: 0.52, sortino: 0.8, maxDrawdown: 0.031, winRate: 0.5566, profitFactor: 1.34 });
    await push.send(success(ids[0])); // a duplicate
    await push.send(success('0193b0b2-0000-7000-8000-000000000000')); // an orphan
    await p.waitFor(() => count(p, "failure_events where kind in ('duplicate_result', 'orphan_result')") === 2 && count(p, 'dead_letters') === 2, 'the duplicate and the orphan (with its letter) to be recorded');

    const m = await collect();
    const store = {
      enqueued: count(p, 'oos_requests'),
      sends: (p.reader.sqlite.prepare('select sum(sends) as n from oos_requests').get() as { n: number }).n,
      done: count(p, "oos_requests where state = 'done'"),
      retried: count(p, "failure_events where kind = 'error_result'") - count(p, "oos_requests where state = 'dead'"),
      errorResults: count(p, "failure_events where kind = 'error_result'"),
      requestLetters: count(p, "oos_requests where state = 'dead'"),
      letters: count(p, 'dead_letters'),
      duplicates: count(p, "failure_events where kind = 'duplicate_result'"),
      orphans: count(p, "failure_events where kind = 'orphan_result'"),
      gate: count(p, "failure_events where kind = 'data_invalid'"),
      passed: (p.reader.sqlite.prepare('select sharpe, profit_factor as profitFactor, win_rate as winRate, max_dd as maxDd, trades from oos_results').all() as Parameters<typeof passesOosGate>[0][]).filter((r) => passesOosGate(r)).length,
    };
    // The scripted run did what it says.
    expect(store).toMatchObject({ enqueued: 5, done: 4, retried: 2, errorResults: 3, requestLetters: 1, duplicates: 1, orphans: 1, gate: 1 });
    expect(total(m, 'shoal_oos_enqueued')).toBe(store.enqueued);
    expect(total(m, 'shoal_oos_sent') - total(m, 'shoal_oos_released')).toBe(store.sends);
    expect(total(m, 'shoal_oos_completed')).toBe(store.done);
    expect(total(m, 'shoal_oos_passed')).toBe(store.passed);
    expect(total(m, 'shoal_oos_passed') + total(m, 'shoal_oos_failed')).toBe(store.done);
    expect(total(m, 'shoal_oos_retried', { failure_kind: 'error_result' })).toBe(store.retried);
    expect(total(m, 'shoal_oos_error_results')).toBe(store.errorResults);
    expect(total(m, 'shoal_oos_error_results', { class: 'transient' })).toBe(store.errorResults);
    expect(total(m, 'shoal_dead_lettered', { kind: 'request' })).toBe(store.requestLetters);
    expect(total(m, 'shoal_dead_lettered')).toBe(store.letters);
    expect(total(m, 'shoal_oos_duplicate_results')).toBe(store.duplicates);
    expect(total(m, 'shoal_oos_orphan_results')).toBe(store.orphans);
    expect(total(m, 'shoal_oos_gate_rejections')).toBe(store.gate);
    // Histograms: one end-to-end and one attempt latency per completed request, in seconds.
    for (const h of ['shoal_oos_end_to_end_seconds', 'shoal_oos_attempt_latency_seconds']) {
      const [point] = m.get(h)!;
      expect((point.value as Histogram).count).toBe(store.done);
      expect((point.value as Histogram).buckets.boundaries[0]).toBe(0.001);
      expect((point.value as Histogram).buckets.boundaries.at(-1)).toBe(3600);
    }
    expect((m.get('shoal_oos_queue_dwell_seconds')![0].value as Histogram).count).toBe(store.sends);
    // Gauges read the store at collection.
    expect(total(m, 'shoal_oos_outbox_requests', { state: 'done' })).toBe(store.done);
    expect(total(m, 'shoal_oos_in_flight')).toBe(0);
    expect(total(m, 'shoal_dead_letters', { state: 'dead' })).toBe(count(p, "dead_letters where state = 'dead'"));
    expect((m.get('shoal_actor_mailbox_length') ?? []).map((d) => d.attributes.path)).toContain('/shoal/pipeline/db-writer');
  });

  it('a restart is counted under its actor path', async () => {
    const { provider, collect } = metering();
    const p = await pipeline(temp.dir(), { telemetry: { meterProvider: provider } });
    cleanups.push(() => p.close());
    let restarted = false;
    p.shoal.on('restart', (e) => (restarted ||= e.path === paths.sender));
    p.shoal.system.crashActor(p.shoal.system.lookup(paths.sender)!, new Error('injected'));
    await until(() => restarted, 'the sender to restart');
    const m = await collect();
    expect(total(m, 'shoal_actor_restarts', { path: paths.sender })).toBe(1);
  });

  it('the Prometheus endpoint on 127.0.0.1 serves the metrics in the text format, and the scrape parses', async () => {
    const port = await freePort();
    const exporter = new PrometheusExporter({ host: '127.0.0.1', port });
    const provider = new MeterProvider({ readers: [exporter] });
    cleanups.push(() => provider.shutdown());
    const p = await pipeline(temp.dir(), { engine: echoEngine, telemetry: { meterProvider: provider } });
    cleanups.push(() => p.close());
    await p.shoal.upsertStrategies([hostStrategy('P')]);
    const id = await enqueued(p, 'P');
    await p.waitFor(() => getRequest(p.reader, id)?.state === 'done', 'the request to complete');

    const { status, type, body } = await get(`http://127.0.0.1:${port}/metrics`);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain/);
    const samples = parsePrometheusText(body);
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
    expect(value('shoal_oos_enqueued_total')).toBe(1);
    expect(value('shoal_oos_completed_total')).toBe(1);
    expect(value('shoal_oos_end_to_end_seconds_count')).toBe(1);
    expect(value('shoal_oos_end_to_end_seconds_bucket', { le: '+Inf' })).toBe(1);
    expect(value('shoal_oos_outbox_requests', { state: 'done' })).toBe(1);
    expect(samples.filter((s) => s.name === 'shoal_oos_end_to_end_seconds_bucket').map((s) => s.labels.le)).toContain('3600');
  });
});

function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
      })
      .on('error', reject);
  });
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text exposition format, strictly: every line a comment (HELP, TYPE, UNIT) or a sample; anything else throws. */
function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE|UNIT) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        typed.add(meta[2]);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const labelText = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
    let consumed = 0;
    for (let l = re.exec(labelText); l; l = re.exec(labelText)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      consumed = re.lastIndex;
    }
    if (consumed !== labelText.length) throw new Error(`bad labels in ${JSON.stringify(line)}`);
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`bad value in ${JSON.stringify(line)}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, '');
    if (!typed.has(m[1]) && !typed.has(family)) throw new Error(`sample ${m[1]} has no TYPE line before it`);
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}
