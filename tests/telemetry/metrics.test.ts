/** OosMetrics records a commit's metrics through the metrics API: counters summed per batch, histograms per observation, attributes kept apart. */
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

describe('OosMetrics.recordBatch', () => {
  it('counts every point of a commit, whether it is summed with others (no attributes) or kept apart by its attributes', async () => {
    const points = await collected((m) =>
      m.recordBatch((sink) => {
        sink.count('completed', 1);
        sink.count('completed', 1);
        sink.count('sent', 3);
        sink.count('retried', 1, { failure_kind: 'timeout' });
        sink.count('retried', 1, { failure_kind: 'error_result' });
        sink.count('retried', 1, { failure_kind: 'timeout' });
        sink.observe('endToEnd', 0.5);
        sink.observe('endToEnd', 2);
        sink.count('completed', 1);
      }),
    );
    expect(points(COUNTERS.completed.name).map((p) => p.value)).toEqual([3]);
    expect(points(COUNTERS.sent.name).map((p) => p.value)).toEqual([3]);
    expect(points(COUNTERS.retried.name).map((p) => [p.attributes.failure_kind, p.value]).sort()).toEqual([['error_result', 1], ['timeout', 2]]);
    const [e2e] = points(HISTOGRAMS.endToEnd.name);
    expect((e2e.value as Histogram).count).toBe(2);
    expect((e2e.value as Histogram).sum).toBe(2.5);
  });

  it('each batch adds only its own sums: nothing carries over, and a counter the batches never counted has no point', async () => {
    const points = await collected((m) => {
      m.recordBatch((sink) => sink.count('completed', 2));
      m.recordBatch((sink) => {
        sink.count('completed', 1);
        sink.count('orphans', 1);
      });
      m.recordBatch(() => {});
    });
    expect(points(COUNTERS.completed.name).map((p) => p.value)).toEqual([3]);
    expect(points(COUNTERS.orphans.name).map((p) => p.value)).toEqual([1]);
    expect(points(COUNTERS.duplicates.name)).toEqual([]);
  });
});
