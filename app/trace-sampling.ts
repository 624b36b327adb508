/**
 * How the entry points' SDK samples and names spans. Both replace SDK defaults that showed up in
 * the telemetry benchmark's profile (ADR 0012): the parent-based sampler re-validates the parent
 * context with regular expressions on every span, and the SDK's id generator allocates a buffer
 * per id. The rules are the same as the SDK's ParentBased(TraceIdRatioBased) sampler.
 */
import { SamplingDecision, trace, TraceFlags, type Attributes, type Context, type Link, type SpanKind } from '@opentelemetry/api';
import type { IdGenerator, Sampler, SamplingResult } from '@opentelemetry/sdk-trace-base';
import { newSpanId, newTraceId } from '../protocol/index.ts';

const SAMPLED: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED });
const DROPPED: SamplingResult = Object.freeze({ decision: SamplingDecision.NOT_RECORD });

/**
 * A span with a parent follows the parent's sampled flag; a new trace is the root sampler's (the
 * SDK's TraceIdRatioBasedSampler) to decide. The parent counts only when the tracer continued its
 * trace (the span's trace id is the parent's): under an invalid parent the tracer starts a new
 * trace, which is then a root, as in the SDK's ParentBasedSampler, without checking the ids again.
 */
export class ParentOrRootSampler implements Sampler {
  constructor(private readonly root: Sampler) {}

  shouldSample(context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const parent = trace.getSpanContext(context);
    if (parent !== undefined && parent.traceId === traceId) return (parent.traceFlags & TraceFlags.SAMPLED) !== 0 ? SAMPLED : DROPPED;
    return this.root.shouldSample(context, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `ParentOrRoot{root=${this.root.toString()}}`;
  }
}

/** Ids from the pool the traceparents use: one random fill per few hundred ids. */
export const POOLED_IDS: IdGenerator = Object.freeze({ generateTraceId: newTraceId, generateSpanId: newSpanId });
