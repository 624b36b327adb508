/** OosMetrics records commit points through the metrics API: counters summed per commit, histograms per observation, attributes kept apart. */
import { describe, expect, it } from 'vitest';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type Histogram } from '@opentelemetry/sdk-metrics';
import { OosMetrics, COUNTERS, HISTOGRAMS } from '../../telemetry/metrics.ts';

async function collected(record: (m: OosMetrics) => void) {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  record(new OosMetrics({ meterProvider: provider }));
  await reader.forceFlush();
  const metrics = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
  await provider.shutdown();
  return (name: string) => metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? [];
}

describe('OosMetrics.record', () => {
  it('counts every point of a commit, whether it is summed with others (no attributes) or kept apart by its attributes', async () => {
    const points = await collected((m) =>
      m.record([
        { counter: 'completed', value: 1 },
        { counter: 'completed', value: 1 },
        { counter: 'sent', value: 3 },
        { counter: 'retried', value: 1, attributes: { failure_kind: 'timeout' } },
        { counter: 'retried', value: 1, attributes: { failure_kind: 'error_result' } },
        { counter: 'retried', value: 1, attributes: { failure_kind: 'timeout' } },
        { histogram: 'endToEnd', seconds: 0.5 },
        { histogram: 'endToEnd', seconds: 2 },
        { counter: 'completed', value: 1 },
      ]),
    );
    expect(points(COUNTERS.completed.name).map((p) => p.value)).toEqual([3]);
    expect(points(COUNTERS.sent.name).map((p) => p.value)).toEqual([3]);
    expect(points(COUNTERS.retried.name).map((p) => [p.attributes.failure_kind, p.value]).sort()).toEqual([['error_result', 1], ['timeout', 2]]);
    const [e2e] = points(HISTOGRAMS.endToEnd.name);
    expect((e2e.value as Histogram).count).toBe(2);
    expect((e2e.value as Histogram).sum).toBe(2.5);
  });
});
