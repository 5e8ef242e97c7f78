/**
 * @module Consul's JSON shape of /v1/agent/metrics (go-metrics' in-memory sink, `DisplayMetrics`):
 * the last closed 10 s interval (the current one until one has closed), Timestamp = its start as
 * Go's time.Time.String() prints it, Gauges / Points / Counters / Samples always present, every
 * entry with a Labels object, ordered by name then labels.
 */
import { INTERVAL_MS, type Family, type Labels, type MetricsRegistry } from './registry.ts';

export interface JsonGauge { Name: string; Value: number; Labels: Labels }
export interface JsonSample { Name: string; Count: number; Rate: number; Sum: number; Min: number; Max: number; Mean: number; Stddev: number; Labels: Labels }
export interface JsonMetrics { Timestamp: string; Gauges: JsonGauge[]; Points: unknown[]; Counters: JsonSample[]; Samples: JsonSample[] }

/** Go's time.Time.String() in UTC: `2017-08-08 02:55:10 +0000 UTC`. */
export function goTime(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000 UTC`;
}

function aggregate(name: string, a: { count: number; sum: number; sumSq: number; min: number; max: number }, labels: Labels): JsonSample {
  const mean = a.count > 0 ? a.sum / a.count : 0;
  const variance = a.count > 1 ? (a.count * a.sumSq - a.sum * a.sum) / (a.count * (a.count - 1)) : 0;
  return {
    Name: name, Count: a.count, Rate: a.sum / (INTERVAL_MS / 1000), Sum: a.sum, Min: a.min, Max: a.max, Mean: mean,
    Stddev: variance > 0 ? Math.sqrt(variance) : 0, Labels: { ...labels },
  };
}

const byNameLabels = (a: { Name: string; Labels: Labels }, b: { Name: string; Labels: Labels }): number => {
  if (a.Name !== b.Name) return a.Name < b.Name ? -1 : 1;
  const x = JSON.stringify(a.Labels), y = JSON.stringify(b.Labels);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Reads the registry into Consul's shape. `extra` gauges come from hooks outside the registry. */
export function renderJson(reg: MetricsRegistry, extra: JsonGauge[] = [], now = Date.now()): JsonMetrics {
  reg.rotate(now);
  const closed = reg.lastStart > 0;
  const out: JsonMetrics = { Timestamp: goTime(closed ? reg.lastStart : reg.intervalStart), Gauges: [...extra], Points: [], Counters: [], Samples: [] };
  for (const f of reg.families) {
    const name = reg.displayName(f);
    if (f.kind === 'gauge') { out.Gauges.push(...gauges(f, name)); continue; }
    if (f.read) {
      const n = closed ? f.readLast : f.readTotal() - f.readBase;
      if (n > 0) out.Counters.push(aggregate(name, { count: n, sum: n, sumSq: n, min: 1, max: 1 }, {}));
      continue;
    }
    for (const s of f.all()) {
      const a = closed ? s.last : s.current();
      if (a.count === 0) continue;
      (f.kind === 'counter' ? out.Counters : out.Samples).push(aggregate(name, a, s.labels));
    }
  }
  out.Gauges.sort(byNameLabels); out.Counters.sort(byNameLabels); out.Samples.sort(byNameLabels);
  return out;
}

function gauges(f: Family, name: string): JsonGauge[] {
  const out: JsonGauge[] = [];
  if (f.read) for (const v of f.read()) out.push({ Name: name, Value: v.value, Labels: { ...v.labels } });
  else for (const s of f.all()) if (s.count > 0) out.push({ Name: name, Value: s.value, Labels: { ...s.labels } });
  return out;
}
