/**
 * The spans of an OOS request, through @opentelemetry/api only: whoever embeds shoal decides
 * whether an SDK records them. With none registered every call lands on the API's no-op tracer.
 *
 * One trace per request, rooted at (or continuing the caller's trace with) the enqueue span, whose
 * context is the traceparent stored with the request. Every later span is a child of that stored
 * context, so a retry, a restart or a dead-letter replay stays in the same trace, and a result is
 * joined to it by request_id even when the service does not echo the traceparent:
 *
 *   create <queue>            PRODUCER  enqueue: the data gate; a `commit` event when durable
 *   ├─ data_gate check        INTERNAL
 *   ├─ send <endpoint>        PRODUCER  one per attempt; its context travels in the frame
 *   ├─ attempt failed         INTERNAL  a lease that ran out (status ERROR)
 *   ├─ process <endpoint>     CONSUMER  the result handled (an error result: status ERROR); a `commit` event
 *   └─ replay dead letter     INTERNAL  linked to the letter's context
 *
 * Attributes follow the OpenTelemetry messaging semantic conventions.
 */
import {
  INVALID_SPAN_CONTEXT,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type TimeInput,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { HandleObserver } from '../runtime/index.ts';
import { RemoteParentContext } from './remote-parent.ts';
import { childTraceparent, createTraceparent, formatTraceparent, traceContextOf } from '../protocol/index.ts';

export const TRACER_NAME = 'shoal';

/** The messaging attribute names used here (OpenTelemetry semantic conventions). */
export const ATTR = Object.freeze({
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destination: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  bodySize: 'messaging.message.body.size',
  batchCount: 'messaging.batch.message_count',
  errorType: 'error.type',
  strategy: 'shoal.strategy',
  attempt: 'shoal.attempt',
  outcome: 'shoal.outcome',
  failureKind: 'shoal.failure.kind',
  deadLetterId: 'shoal.dead_letter.id',
});

/** The outbox, as a messaging destination: where an enqueue puts a request. */
export const OUTBOX_DESTINATION = 'oos_requests';

const SYSTEM = 'zeromq';

/** The context a stored traceparent names, as a remote parent; undefined for none or an invalid one. */
export function contextOfTraceparent(traceparent: string | null | undefined): Context | undefined {
  const sc = spanContextOf(traceparent);
  return sc === undefined ? undefined : new RemoteParentContext(sc);
}

export function spanContextOf(traceparent: string | null | undefined): SpanContext | undefined {
  const parsed = traceparent == null ? undefined : traceContextOf(traceparent);
  return parsed === undefined ? undefined : { traceId: parsed.traceId, spanId: parsed.parentId, traceFlags: parsed.flags, isRemote: true };
}

export function traceparentOf(sc: SpanContext): string {
  return formatTraceparent({ version: 0, traceId: sc.traceId, parentId: sc.spanId, flags: sc.traceFlags & 0xff });
}

/** The span's traceparent, unless it is not a span of its own: the no-op tracer hands back its parent's context (or an invalid one). */
function ownTraceparent(span: Span, parent: Context | undefined): string | undefined {
  const sc = span.spanContext();
  // A recording span is a real one with fresh ids: only the others need checking.
  if (span.isRecording()) return traceparentOf(sc);
  if (!isSpanContextValid(sc)) return undefined;
  if (parent !== undefined && trace.getSpanContext(parent)?.spanId === sc.spanId) return undefined;
  return traceparentOf(sc);
}

/** A failure on a span: status ERROR with the message, and an exception event carrying the kind. */
export function failSpan(span: Span, kind: string, message: string): void {
  if (!span.isRecording()) return;
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute(ATTR.errorType, kind);
  span.addEvent('exception', { 'exception.type': kind, 'exception.message': message });
}

export interface OosTracingOptions {
  /** Default: the globally registered provider (the API's no-op one when no SDK is registered). */
  readonly tracerProvider?: TracerProvider;
  readonly version?: string;
}

/** What a request needs for its spans: its id, its stored traceparent, its attempt number. */
export interface TracedRequest {
  readonly requestId: string;
  readonly traceparent: string | null;
  readonly attempts?: number;
  readonly strategyName?: string;
}

/** What the global provider delegates to while no SDK is registered. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
/** Handed out instead of a span while nothing records: every method is a no-op. */
const NOT_RECORDED = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export class OosTracing {
  readonly tracer: Tracer;
  private readonly sendName = new SpanName('send');
  private readonly processName = new SpanName('process');
  /** The global provider, when that is what spans go to: until an SDK is registered there, no span is even started. */
  private readonly proxy: ProxyTracerProvider | undefined;

  constructor(options: OosTracingOptions = {}) {
    const provider = options.tracerProvider ?? trace.getTracerProvider();
    this.tracer = provider.getTracer(TRACER_NAME, options.version);
    this.proxy = provider instanceof ProxyTracerProvider ? provider : undefined;
  }

  /** False while spans would go to the API's no-op (no SDK registered): the hot paths then skip them outright. */
  get active(): boolean {
    return this.proxy === undefined || this.proxy.getDelegate() !== NOOP_PROVIDER;
  }

  /**
   * The enqueue span, continuing the caller's traceparent when there is one. `traceparent` is what
   * to store with the request: the span's own context, or (no SDK recording, so the span is the
   * API's no-op) a fresh one of the same trace, as without telemetry.
   */
  startEnqueue(strategyName: string, callerTraceparent: string | undefined): { span: Span; traceparent: string } {
    if (!this.active) return { span: NOT_RECORDED, traceparent: callerTraceparent !== undefined ? childTraceparent(callerTraceparent) : createTraceparent() };
    const parent = contextOfTraceparent(callerTraceparent);
    const span = this.tracer.startSpan(
      `create ${OUTBOX_DESTINATION}`,
      { kind: SpanKind.PRODUCER, attributes: { [ATTR.system]: SYSTEM, [ATTR.operationType]: 'create', [ATTR.operationName]: 'enqueue', [ATTR.destination]: OUTBOX_DESTINATION, [ATTR.strategy]: strategyName } },
      parent,
    );
    const own = ownTraceparent(span, parent);
    const traceparent = own ?? (callerTraceparent !== undefined ? childTraceparent(callerTraceparent) : createTraceparent());
    return { span, traceparent };
  }

  /** A child span of `parent` (a span of ours) for one step of its work. */
  startChild(parent: Span, name: string, startTime?: TimeInput, attributes?: Attributes): Span {
    if (!parent.isRecording()) return NOT_RECORDED;
    return this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime, attributes }, trace.setSpan(ROOT_CONTEXT, parent));
  }

  /**
   * The commit that made a step durable, as a `commit` event of the step's span at the commit's
   * answer, with how long the step waited for it (from the write handed to the db-writer). An event,
   * not a span: a group commit is shared by the whole batch, and a span per request cost as much
   * as the step's own span (ADR 0012).
   */
  commit(span: Span, startMs: number, endMs: number, commands: number): void {
    if (!span.isRecording()) return;
    span.addEvent('commit', { 'db.system.name': 'sqlite', 'db.operation.batch.size': commands, 'shoal.commit.wait_ms': Math.max(0, endMs - startMs) }, endMs);
  }

  /** One send attempt of a request; `traceparent` is the one to put in its frame. */
  startSend(req: TracedRequest, endpoint: string): { span: Span; traceparent: string | null } {
    if (!this.active) return { span: NOT_RECORDED, traceparent: req.traceparent };
    const parent = contextOfTraceparent(req.traceparent);
    const span = this.tracer.startSpan(this.sendName.of(endpoint), { kind: SpanKind.PRODUCER }, parent);
    setMessageAttributes(span, req, 'send', endpoint);
    return { span, traceparent: ownTraceparent(span, parent) ?? req.traceparent };
  }

  /** The handling of a result for a request, joined to its trace by the stored traceparent; the echoed one (if any) is linked. */
  startProcess(req: TracedRequest, endpoint: string, startTime: TimeInput, echoed?: string): Span {
    if (!this.active) return NOT_RECORDED;
    const echo = spanContextOf(echoed);
    const links: Link[] | undefined = echo ? [{ context: echo, attributes: { 'shoal.link': 'echoed traceparent' } }] : undefined;
    const span = this.tracer.startSpan(this.processName.of(endpoint), { kind: SpanKind.CONSUMER, startTime, links }, contextOfTraceparent(req.traceparent));
    setMessageAttributes(span, req, 'process', endpoint);
    return span;
  }

  /** A failed attempt nobody was handling a span for (a lease that ran out): a short ERROR span in the request's trace. */
  attemptFailed(req: TracedRequest, endpoint: string, kind: string, error: string, outcome: string): void {
    if (!this.active) return;
    const span = this.tracer.startSpan('attempt failed', { kind: SpanKind.INTERNAL, attributes: { [ATTR.failureKind]: kind, [ATTR.outcome]: outcome } }, contextOfTraceparent(req.traceparent));
    setMessageAttributes(span, req, 'send', endpoint);
    failSpan(span, kind, error);
    span.end();
  }

  /** A dead letter brought back: in the trace of what it holds, linked to the letter's context. */
  startReplay(letterId: number, source: string, traceparent: string | null, requestId: string | null): Span {
    if (!this.active) return NOT_RECORDED;
    const sc = spanContextOf(traceparent);
    const attributes: Attributes = { [ATTR.deadLetterId]: letterId, 'shoal.dead_letter.source': source };
    if (requestId !== null) attributes[ATTR.messageId] = requestId;
    return this.tracer.startSpan(
      'replay dead letter',
      { kind: SpanKind.INTERNAL, links: sc ? [{ context: sc, attributes: { 'shoal.link': 'replay of' } }] : [], attributes },
      sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : undefined,
    );
  }

  /**
   * Actor-message spans for the kernel's handle observer: a sampled share of the handlings (one
   * message, or one batch) each get an `actor <path>` span of its own, status ERROR when the
   * handler crashed. Off unless asked for: the kernel's hot path then has no observer at all.
   */
  actorObserver(sampleRatio: number, random: () => number = Math.random): HandleObserver {
    return (path, messages) => {
      if (!(random() < sampleRatio) || !this.active) return undefined;
      const first = messages[0] as { kind?: unknown } | undefined;
      const span = this.tracer.startSpan(`actor ${path}`, {
        kind: SpanKind.INTERNAL,
        attributes: { 'shoal.actor.path': path, 'shoal.actor.messages': messages.length, ...(typeof first?.kind === 'string' ? { 'shoal.actor.message.kind': first.kind } : {}) },
      });
      return (error) => {
        if (error !== undefined) failSpan(span, 'actor_crash', error instanceof Error ? error.message : String(error));
        span.end();
      };
    };
  }

}

/**
 * A message span's attributes, set on the started span: passed to startSpan instead, the SDK
 * copies and checks them twice more, a measurable share of a span's cost (ADR 0012). Samplers
 * therefore do not see them; the SDK set-up's sampler looks only at the parent and the trace id.
 */
function setMessageAttributes(span: Span, req: TracedRequest, operation: 'send' | 'process', endpoint: string): void {
  if (!span.isRecording()) return;
  span.setAttribute(ATTR.system, SYSTEM);
  span.setAttribute(ATTR.operationType, operation);
  span.setAttribute(ATTR.operationName, operation);
  span.setAttribute(ATTR.destination, endpoint);
  span.setAttribute(ATTR.messageId, req.requestId);
  if (req.attempts !== undefined) span.setAttribute(ATTR.attempt, req.attempts);
  if (req.strategyName !== undefined) span.setAttribute(ATTR.strategy, req.strategyName);
}

/** `<operation> <endpoint>`, made again only when the endpoint changes (an actor keeps one), not once per span. */
class SpanName {
  private endpoint: string | undefined;
  private name = '';

  constructor(private readonly operation: string) {}

  of(endpoint: string): string {
    if (endpoint !== this.endpoint) {
      this.endpoint = endpoint;
      this.name = `${this.operation} ${endpoint}`;
    }
    return this.name;
  }
}

/** The tracing of actors not told otherwise: the global provider, no-op until an SDK is registered. */
export const defaultTracing = new OosTracing();
