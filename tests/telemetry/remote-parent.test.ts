/** A remote-parent context answers as the API's context holding the same parent would. */
import { describe, expect, it } from 'vitest';
import { ROOT_CONTEXT, createContextKey, trace, type SpanContext } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { RemoteParentContext } from '../../telemetry/remote-parent.ts';

const PARENT: SpanContext = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1, isRemote: true };

describe('RemoteParentContext', () => {
  it('holds the parent as the active span, as trace.setSpanContext(ROOT_CONTEXT, parent) does', () => {
    const ctx = new RemoteParentContext(PARENT);
    expect(trace.getSpanContext(ctx)).toEqual(trace.getSpanContext(trace.setSpanContext(ROOT_CONTEXT, PARENT)));
    expect(trace.getSpan(ctx)?.isRecording()).toBe(false);
  });

  it('has no other value, and setting one keeps the parent beside it', () => {
    const key = createContextKey('test key');
    const ctx = new RemoteParentContext(PARENT);
    expect(ctx.getValue(key)).toBeUndefined();
    const set = ctx.setValue(key, 42);
    expect(set.getValue(key)).toBe(42);
    expect(trace.getSpanContext(set)).toEqual(PARENT);
    expect(ctx.getValue(key)).toBeUndefined();
  });

  it('deleting the span leaves no parent; deleting another key keeps it', () => {
    const ctx = new RemoteParentContext(PARENT);
    expect(trace.getSpan(trace.deleteSpan(ctx))).toBeUndefined();
    expect(trace.getSpanContext(ctx.deleteValue(createContextKey('other')))).toEqual(PARENT);
  });

  it('a span the SDK starts under it is a child in the parent\'s trace', () => {
    const exporter = new InMemorySpanExporter();
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('t');
    tracer.startSpan('child', {}, new RemoteParentContext(PARENT)).end();
    const [span] = exporter.getFinishedSpans();
    expect(span.spanContext().traceId).toBe(PARENT.traceId);
    expect(span.parentSpanContext?.spanId).toBe(PARENT.spanId);
    expect(span.parentSpanContext?.isRemote).toBe(true);
  });
});
