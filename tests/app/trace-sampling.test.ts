/** The entry points' sampler follows a parent's sampled flag and leaves new traces to the ratio; ids come from the traceparent pool. */
import { describe, expect, it } from 'vitest';
import { ROOT_CONTEXT, SamplingDecision, SpanKind, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { ParentOrRootSampler, POOLED_IDS } from '../../app/trace-sampling.ts';

const TRACE = 'ab'.repeat(16);
const withParent = (traceFlags: number, isRemote: boolean): Context => trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE, spanId: 'cd'.repeat(8), traceFlags, isRemote });
const decide = (sampler: ParentOrRootSampler, context: Context, traceId = TRACE) => sampler.shouldSample(context, traceId, 'x', SpanKind.INTERNAL, {}, []).decision;

describe('ParentOrRootSampler', () => {
  it('a span under a parent is sampled exactly when the parent is, whatever the root sampler says', () => {
    for (const isRemote of [true, false]) {
      expect(decide(new ParentOrRootSampler(new AlwaysOffSampler()), withParent(TraceFlags.SAMPLED, isRemote))).toBe(SamplingDecision.RECORD_AND_SAMPLED);
      expect(decide(new ParentOrRootSampler(new AlwaysOnSampler()), withParent(TraceFlags.NONE, isRemote))).toBe(SamplingDecision.NOT_RECORD);
    }
  });

  it('a new trace (no parent, or a parent whose trace the tracer did not continue) is the root sampler\'s to decide', () => {
    expect(decide(new ParentOrRootSampler(new AlwaysOnSampler()), ROOT_CONTEXT)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(new ParentOrRootSampler(new AlwaysOffSampler()), ROOT_CONTEXT)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(new ParentOrRootSampler(new AlwaysOffSampler()), withParent(TraceFlags.SAMPLED, true), 'ef'.repeat(16))).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(new ParentOrRootSampler(new TraceIdRatioBasedSampler(0)), ROOT_CONTEXT)).toBe(SamplingDecision.NOT_RECORD);
  });

  it('in a tracer: an invalid parent starts a new trace that the root decides, as with the SDK\'s parent-based sampler', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)], sampler: new ParentOrRootSampler(new AlwaysOffSampler()), idGenerator: POOLED_IDS });
    const tracer = provider.getTracer('t');
    const invalid = trace.setSpanContext(ROOT_CONTEXT, { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(tracer.startSpan('under an invalid parent', {}, invalid).isRecording()).toBe(false);
    const child = tracer.startSpan('under a sampled parent', {}, withParent(TraceFlags.SAMPLED, true));
    expect(child.isRecording()).toBe(true);
    expect(child.spanContext().traceId).toBe(TRACE);
    expect(child.spanContext().spanId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('pooled ids are lowercase hex of the W3C lengths and never all zero', () => {
    for (let i = 0; i < 1_000; i++) {
      expect(POOLED_IDS.generateTraceId()).toMatch(/^(?!0{32})[0-9a-f]{32}$/);
      expect(POOLED_IDS.generateSpanId()).toMatch(/^(?!0{16})[0-9a-f]{16}$/);
    }
  });
});
