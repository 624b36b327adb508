/**
 * A context that holds only a remote parent span: what the span of a stored request starts under.
 * It answers as `trace.setSpanContext(ROOT_CONTEXT, parent)` does, but is one small object: the
 * API's context copies a Map and makes three closures for every value set, and a send and a result
 * each start a span under such a context (ADR 0012). Setting or deleting a value hands back an API
 * context, so nothing downstream sees a difference.
 */
import { ROOT_CONTEXT, trace, type Context, type Span, type SpanContext } from '@opentelemetry/api';

/** The API's key for the active span, read through its public setter rather than assumed. */
const SPAN_KEY: symbol = (() => {
  let key: symbol | undefined;
  const probe: Context = {
    getValue: () => undefined,
    setValue(k) {
      key = k;
      return probe;
    },
    deleteValue: () => probe,
  };
  trace.setSpan(probe, trace.wrapSpanContext({ traceId: '', spanId: '', traceFlags: 0 }));
  if (key === undefined) throw new Error('the OpenTelemetry API set no span key');
  return key;
})();

export class RemoteParentContext implements Context {
  private readonly span: Span;

  constructor(parent: SpanContext) {
    this.span = trace.wrapSpanContext(parent);
  }

  getValue(key: symbol): unknown {
    return key === SPAN_KEY ? this.span : undefined;
  }

  setValue(key: symbol, value: unknown): Context {
    return trace.setSpan(ROOT_CONTEXT, this.span).setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    return key === SPAN_KEY ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, this.span);
  }
}
