/**
 * @module The Prometheus text exposition of the registry, through prom-client: each family is
 * handed to a prom-client Registry as a collector read at scrape time (prom-client formats, escapes
 * and validates), next to prom-client's default `process_*` / `nodejs_*` metrics, as Consul's
 * endpoint carries the Go client's `process_*` / `go_*` ones.
 *
 * Types as Consul's Prometheus sink maps them: counter → counter (running total), sample → summary
 * (quantiles 0.5, 0.9, 0.99 over the last 10–20 s, NaN when none, plus _sum and _count), gauge →
 * gauge; Roster's histograms (check lateness) are Prometheus histograms.
 */
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import { promName, type Family, type Labels, type MetricsRegistry } from './registry.ts';

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

interface Value { value: number; labels: Labels; metricName?: string }

const QUANTILES = [0.5, 0.9, 0.99];

function values(reg: MetricsRegistry, f: Family, name: string): Value[] {
  const out: Value[] = [];
  if (f.kind === 'gauge' || f.read) {
    if (f.read) for (const v of f.read()) out.push({ value: v.value, labels: v.labels ?? {} });
    else for (const s of f.all()) if (s.count > 0) out.push({ value: s.value, labels: s.labels });
    return out;
  }
  for (const s of f.all()) {
    if (f.kind === 'counter') out.push({ value: s.sum, labels: s.labels });
    else if (f.kind === 'sample') {
      for (const q of QUANTILES) out.push({ value: s.quantile(q), labels: { ...s.labels, quantile: String(q) } });
      out.push({ metricName: `${name}_sum`, value: s.sum, labels: s.labels });
      out.push({ metricName: `${name}_count`, value: s.count, labels: s.labels });
    } else {
      f.bounds!.forEach((b, i) => out.push({ metricName: `${name}_bucket`, value: s.buckets![i]!, labels: { ...s.labels, le: String(b) } }));
      out.push({ metricName: `${name}_bucket`, value: s.count, labels: { ...s.labels, le: '+Inf' } });
      out.push({ metricName: `${name}_sum`, value: s.sum, labels: s.labels });
      out.push({ metricName: `${name}_count`, value: s.count, labels: s.labels });
    }
  }
  void reg;
  return out;
}

const TYPE = { counter: 'counter', sample: 'summary', histogram: 'histogram', gauge: 'gauge' } as const;

/** A prom-client Registry over `reg` (one per process; families defined later are picked up on the next scrape). */
export class PrometheusExporter {
  readonly #prom: Registry;
  readonly #reg: MetricsRegistry;
  readonly #added = new Set<Family>();

  /** `registry`: a prom-client registry to fill (default: a private one); `defaults`: add prom-client's process metrics. */
  constructor(reg: MetricsRegistry, o: { registry?: Registry; defaults?: boolean } = {}) {
    this.#reg = reg;
    this.#prom = o.registry ?? new Registry();
    if (o.defaults ?? true) collectDefaultMetrics({ register: this.#prom });
  }

  /** Hands the families defined so far to the prom-client registry (text() does it too). */
  sync(): void {
    for (const f of this.#reg.families) {
      if (this.#added.has(f)) continue;
      this.#added.add(f);
      const reg = this.#reg;
      const collector = {
        get name() { return promName(reg.displayName(f)); },
        help: f.help,
        type: TYPE[f.kind],
        aggregator: 'sum',
        get: async () => {
          const name = promName(reg.displayName(f));
          return { name, help: f.help, type: TYPE[f.kind], aggregator: 'sum', values: values(reg, f, name) };
        },
      };
      this.#prom.registerMetric(collector as unknown as Metric);
    }
  }

  /** The text exposition (`text/plain; version=0.0.4`). */
  async text(): Promise<string> {
    this.sync();
    this.#reg.rotate();
    return this.#prom.metrics();
  }
}
