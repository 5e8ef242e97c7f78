/**
 * @module GET /v1/agent/metrics: Consul's JSON shape (Timestamp, Gauges, Points, Counters, Samples),
 * or the Prometheus text format with `?format=prometheus` or an Accept header asking for it (Consul's
 * `acceptsOpenMetricsMimeType`), from the same registry (src/util/metrics). Prometheus output is on
 * by default: Roster needs no `telemetry { prometheus_retention_time }` for it.
 */
import type { Router } from '../server.ts';
import type { ApiDeps } from '../context.ts';
import { metrics, PrometheusExporter, PROMETHEUS_CONTENT_TYPE, renderJson } from '../../util/metrics/index.ts';

let exporter: PrometheusExporter | null = null;

/** Consul's test: `application/openmetrics-text`, or `text/plain; version=0.4.0` (sic), here also Prometheus's own `version=0.0.4`. */
export function wantsPrometheus(format: string | null, accept: string | undefined): boolean {
  if (format === 'prometheus') return true;
  if (!accept) return false;
  const a = accept.replace(/\s+/g, '').toLowerCase();
  return a.includes('application/openmetrics-text') || a.includes('text/plain;version=0.4.0') || a.includes('text/plain;version=0.0.4');
}

/**
 * Gauges the agent's parts report through `hooks.gauges` (per-check lateness, Eureka's self-preservation, ...)
 * become registry gauges on first sight, read from the hook at scrape time, so Prometheus sees them too.
 */
function adoptHookGauges(deps: ApiDeps): void {
  const read = () => deps.hooks.gauges?.() ?? [];
  for (const name of new Set(read().map(g => g.Name))) {
    if (metrics.get(name)) continue;
    metrics.gauge(name, undefined, () => read().filter(g => g.Name === name).map(g => ({ labels: g.Labels, value: g.Value })));
  }
}

export function metricsRoutes(r: Router, deps: ApiDeps): void {
  r.add(['GET'], '/v1/agent/metrics', async ctx => {
    adoptHookGauges(deps);
    if (wantsPrometheus(ctx.query.get('format'), ctx.req.headers.accept)) {
      exporter ??= new PrometheusExporter(metrics);
      return { body: await exporter.text(), raw: true, headers: { 'Content-Type': PROMETHEUS_CONTENT_TYPE } };
    }
    return { body: renderJson(metrics) };
  });
}
