/**
 * @module The agent's side of metrics: applies `telemetry { ... }` to the process's registry, starts
 * its 10 s intervals and the runtime gauges, and gives the registry the gauges only the agent can
 * read at scrape time: Consul's `consul.state.*` usage gauges (from the DNS view of the catalog),
 * the view's lag behind Redis and its revision, checks by status, blocking queries waiting.
 */
import { hostname } from 'node:os';
import type { Config } from '../config/schema.ts';
import type { CatalogView } from '../catalog/view.ts';
import type { Notifier } from '../http/blocking.ts';
import { metrics, startRuntimeMetrics } from '../util/metrics/index.ts';

export function applyTelemetry(cfg: Config): void {
  const t = cfg.telemetry;
  metrics.settings = {
    enabled: !t.disable,
    prefix: t.metricsPrefix,
    retentionMs: t.prometheusRetentionMs > 0 ? t.prometheusRetentionMs : 60_000,
    // go-metrics' host name in gauge names: Consul's default; Roster's only when asked for (disable_hostname = false).
    hostname: t.disableHostname === false ? hostname().split('.')[0]!.replace(/[^A-Za-z0-9_-]/g, '_') : '',
  };
}

export function startTelemetry(cfg: Config, view: CatalogView, notifier: Notifier): void {
  applyTelemetry(cfg);
  metrics.start();
  startRuntimeMetrics();
  const dc = { datacenter: cfg.datacenter };
  const usage = () => {
    let instances = 0;
    const byStatus: Record<string, number> = { passing: 0, warning: 0, critical: 0, maintenance: 0 };
    for (const st of view.nodes()) {
      instances += st.services.size;
      for (const c of st.checks.values()) byStatus[c.Status] = (byStatus[c.Status] ?? 0) + 1;
    }
    return { instances, byStatus };
  };
  metrics.gauge('consul.state.nodes', 'Number of nodes in the catalog.', () => [{ labels: dc, value: view.nodeCount }], ['datacenter']);
  metrics.gauge('consul.state.services', 'Number of distinct services in the catalog.', () => [{ labels: dc, value: [...view.serviceNames()].length }], ['datacenter']);
  metrics.gauge('consul.state.service_instances', 'Number of service instances in the catalog.', () => [{ labels: dc, value: usage().instances }], ['datacenter']);
  metrics.gauge('roster.catalog.checks', 'Health checks in the catalog, by status.', () => Object.entries(usage().byStatus).map(([status, value]) => ({ labels: { status }, value })), ['status']);
  metrics.gauge('roster.view.lag_seconds', 'How far the DNS view is behind Redis (time since it last heard from the change log).', () => [{ value: view.freshness().lastContactMs / 1000 }]);
  metrics.gauge('roster.view.revision', 'The catalog revision (Redis index) the DNS view reflects.', () => [{ value: view.appliedIndex }]);
  metrics.gauge('roster.http.blocking_queries', 'Blocking queries (?index=) waiting for a change.', () => [{ value: notifier.waiting }]);
}
