/** The tracing helpers with no SDK registered (the API's no-op) and with one handed in. */
import { describe, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OosTracing, contextOfTraceparent, spanContextOf, traceparentOf } from '../../telemetry/tracing.ts';
import { isValidTraceparent, parseTraceparent } from '../../protocol/index.ts';

const CALLER = `00-${'c'.repeat(32)}-${'d'.repeat(16)}-01`;

describe('OosTracing without an SDK', () => {
  const tracing = new OosTracing();

  it('is inactive, and an enqueue still gets a traceparent of its own: a new trace, or a fresh span of the caller\'s', () => {
    expect(tracing.active).toBe(false);
    const root = tracing.startEnqueue('S', undefined);
    expect(root.span.isRecording()).toBe(false);
    expect(isValidTraceparent(root.traceparent)).toBe(true);
    const child = tracing.startEnqueue('S', CALLER);
    const parsed = parseTraceparent(child.traceparent);
    expect(parsed.ok && parsed.value.traceId).toBe('c'.repeat(32));
    expect(parsed.ok && parsed.value.parentId).not.toBe('d'.repeat(16));
  });

  it('a send carries the stored traceparent unchanged, and no span records anything', () => {
    const send = tracing.startSend({ requestId: 'r', traceparent: CALLER }, 'tcp://127.0.0.1:1');
    expect(send.traceparent).toBe(CALLER);
    expect(send.span.isRecording()).toBe(false);
    expect(tracing.startProcess({ requestId: 'r', traceparent: CALLER }, 'tcp://127.0.0.1:2', Date.now()).isRecording()).toBe(false);
  });
});

describe('OosTracing with an SDK', () => {
  it('a send is a PRODUCER child of the stored context, and the frame carries the send span\'s own context', () => {
    const exporter = new InMemorySpanExporter();
    const tracing = new OosTracing({ tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }) });
    expect(tracing.active).toBe(true);
    const send = tracing.startSend({ requestId: 'r', traceparent: CALLER, attempts: 2 }, 'tcp://127.0.0.1:1');
    send.span.end();
    const [span] = exporter.getFinishedSpans();
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(span.parentSpanContext?.spanId).toBe('d'.repeat(16));
    expect(send.traceparent).toBe(traceparentOf(span.spanContext()));
    expect(span.attributes).toMatchObject({ 'messaging.system': 'zeromq', 'messaging.operation.type': 'send', 'messaging.message.id': 'r', 'shoal.attempt': 2 });
  });
});

describe('actor-message spans', () => {
  it('trace the sampled share of handlings as `actor <path>` spans, a crash as status ERROR; without an SDK nothing is started', () => {
    const exporter = new InMemorySpanExporter();
    const tracing = new OosTracing({ tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }) });
    const draws = [0.005, 0.5, 0.001];
    const observe = tracing.actorObserver(0.01, () => draws.shift()!);
    observe('/shoal/pipeline/sender', [{ kind: 'wake' }, { kind: 'tick' }])?.();
    expect(observe('/shoal/pipeline/sender', [{ kind: 'tick' }])).toBeUndefined(); // 0.5 is not in the 1 % sample
    observe('/shoal/data-gate', [{ kind: 'enqueue' }])?.(new Error('boom'));
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['actor /shoal/pipeline/sender', 'actor /shoal/data-gate']);
    expect(spans[0].attributes).toEqual({ 'shoal.actor.path': '/shoal/pipeline/sender', 'shoal.actor.messages': 2, 'shoal.actor.message.kind': 'wake' });
    expect(spans[1].status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'boom' });
    expect(new OosTracing().actorObserver(1)('/x', [{}])).toBeUndefined();
  });
});

describe('traceparent <-> span context', () => {
  it('round-trips, and an invalid or missing traceparent gives no parent', () => {
    expect(traceparentOf(spanContextOf(CALLER)!)).toBe(CALLER);
    expect(contextOfTraceparent(null)).toBeUndefined();
    expect(contextOfTraceparent('00-zz')).toBeUndefined();
  });
});
