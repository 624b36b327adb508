/**
 * The OpenTelemetry SDK for shoal's entry points (`shoal start`, the demo): tracer and meter
 * providers built from the `telemetry` configuration key, the only module that imports the SDK.
 * Entry points load it with a dynamic import, so commands that do not run the runtime never load
 * the SDK. An embedding host sets up its own SDK instead and hands its providers to Shoal.start.
 */
import fs from 'node:fs';
import { DiagLogLevel, diag, metrics, trace, type MeterProvider as ApiMeterProvider, type TracerProvider as ApiTracerProvider } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { ParentOrRootSampler, POOLED_IDS } from './trace-sampling.ts';
import { TELEMETRY_DEFAULTS, type TelemetryConfig } from './config-schema.ts';

export interface TelemetrySdkOptions {
  /** Instead of the configured exporter (benchmarks: one that drops spans). */
  readonly spanExporter?: SpanExporter;
  /** A metric reader besides the Prometheus endpoint (tests, benchmarks). */
  readonly metricReader?: MetricReader;
  /** Also write every span to this file as OTLP JSON when the SDK shuts down (`shoal demo --trace`). */
  readonly traceFile?: string;
  /** Register the providers as the API's globals, for the host's own code (default true). */
  readonly register?: boolean;
  readonly serviceVersion?: string;
  /**
   * Told the SDK's own warnings and errors (spans dropped from a full export queue, an exporter
   * that failed): without it they would go nowhere. Installs the API's global diagnostic logger.
   */
  readonly onDiag?: (level: 'warn' | 'error', message: string) => void;
}

export interface TelemetrySdk {
  /** Undefined when nothing records spans (traces 'none' and no trace file). */
  readonly tracerProvider?: ApiTracerProvider;
  /** Undefined when nothing reads metrics (no Prometheus port and no reader). */
  readonly meterProvider?: ApiMeterProvider;
  /** Where Prometheus scrapes, when it is served. */
  readonly prometheusUrl?: string;
  /** Flushes what is buffered, writes the trace file, closes the endpoint. */
  shutdown(): Promise<void>;
}

function spanExporterOf(config: Required<Pick<TelemetryConfig, 'traces'>> & TelemetryConfig): SpanExporter | undefined {
  switch (config.traces) {
    case 'console':
      return new ConsoleSpanExporter();
    case 'otlp':
      return new OTLPTraceExporter(config.otlpEndpoint ? { url: config.otlpEndpoint } : {});
    default:
      return undefined;
  }
}

/** Starts the SDK as configured; resolves once the Prometheus endpoint (if any) listens. */
export async function startTelemetrySdk(input: TelemetryConfig = {}, options: TelemetrySdkOptions = {}): Promise<TelemetrySdk> {
  const config = { ...TELEMETRY_DEFAULTS, ...input };
  const tell = options.onDiag;
  if (tell) {
    const text = (message: string, args: unknown[]) => [message, ...args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a)))].join(' ');
    const quiet = () => {};
    diag.setLogger({ error: (m, ...a) => tell('error', text(m, a)), warn: (m, ...a) => tell('warn', text(m, a)), info: quiet, debug: quiet, verbose: quiet }, DiagLogLevel.WARN);
  }
  const resource = resourceFromAttributes({ 'service.name': 'shoal', ...(options.serviceVersion ? { 'service.version': options.serviceVersion } : {}) });
  const processors: SpanProcessor[] = [];
  const exporter = options.spanExporter ?? spanExporterOf(config);
  if (exporter) processors.push(new BatchSpanProcessor(exporter));
  const fileSpans = options.traceFile ? new InMemorySpanExporter() : undefined;
  if (fileSpans) processors.push(new SimpleSpanProcessor(fileSpans));
  const tracerProvider =
    processors.length > 0
      ? new BasicTracerProvider({ resource, spanProcessors: processors, sampler: new ParentOrRootSampler(new TraceIdRatioBasedSampler(config.sampleRatio)), idGenerator: POOLED_IDS })
      : undefined;

  const readers: MetricReader[] = [];
  let prometheusUrl: string | undefined;
  if (config.prometheusPort > 0) {
    const host = config.prometheusHost;
    const listening = new Promise<void>((resolve, reject) => {
      readers.push(new PrometheusExporter({ host, port: config.prometheusPort }, (e) => (e ? reject(new Error(`the Prometheus endpoint cannot listen on ${host}:${config.prometheusPort}: ${e.message}`)) : resolve())));
    });
    await listening;
    prometheusUrl = `http://${host}:${config.prometheusPort}/metrics`;
  }
  if (options.metricReader) readers.push(options.metricReader);
  const meterProvider = readers.length > 0 ? new MeterProvider({ resource, readers }) : undefined;

  if (options.register !== false) {
    if (tracerProvider) trace.setGlobalTracerProvider(tracerProvider);
    if (meterProvider) metrics.setGlobalMeterProvider(meterProvider);
  }
  return {
    tracerProvider,
    meterProvider,
    prometheusUrl,
    async shutdown() {
      await tracerProvider?.forceFlush();
      if (fileSpans && options.traceFile) writeOtlpJson(options.traceFile, fileSpans);
      await Promise.all([tracerProvider?.shutdown(), meterProvider?.shutdown()]);
    },
  };
}

/** The spans as one OTLP/JSON ExportTraceServiceRequest, the form OTLP receivers and trace viewers read. */
function writeOtlpJson(file: string, spans: InMemorySpanExporter): void {
  const bytes = JsonTraceSerializer.serializeRequest(spans.getFinishedSpans());
  if (!bytes) throw new Error(`the spans could not be serialised for ${file}`);
  fs.writeFileSync(file, `${JSON.stringify(JSON.parse(Buffer.from(bytes).toString('utf8')), null, 2)}\n`);
}
