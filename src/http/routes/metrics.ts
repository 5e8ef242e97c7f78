/**
 * @module GET /v1/agent/metrics in Consul's JSON shape (Timestamp, Gauges, Points, Counters, Samples).
 *
 * For now it carries the runtime gauges and what the agent's parts report through `hooks.gauges`
 * (per-check lateness and overdue time, issue 11). Counters, samples and the Prometheus format come
 * with the metrics work (issue 16); until then `?format=prometheus` answers as Consul does when
 * Prometheus retention is not configured.
 */
import type { Router } from '../server.ts';
import type { ApiDeps, Gauge } from '../context.ts';

/** Go's time.Time.String() of the current 10 s interval's start, as Consul prints it. */
function intervalStart(now: number): string {
  const d = new Date(Math.floor(now / 10_000) * 10_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000 UTC`;
}

export function metricsRoutes(r: Router, deps: ApiDeps): void {
  r.add(['GET'], '/v1/agent/metrics', ctx => {
    if (ctx.query.get('format') === 'prometheus') {
      return { status: 415, body: 'Prometheus is not enabled since its retention time is not positive' };
    }
    const mem = process.memoryUsage();
    const gauges: Gauge[] = [
      { Name: 'consul.runtime.alloc_bytes', Value: mem.heapUsed, Labels: {} },
      { Name: 'consul.runtime.sys_bytes', Value: mem.rss, Labels: {} },
      ...(deps.hooks.gauges?.() ?? []),
    ];
    gauges.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    return { body: { Timestamp: intervalStart(Date.now()), Gauges: gauges, Points: [], Counters: [], Samples: [] } };
  });
}
