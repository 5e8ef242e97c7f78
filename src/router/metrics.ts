/**
 * @module The router's metrics, served on its own `-metrics ADDR` port (GET /metrics, Prometheus
 * text): `roster_router_requests{service,code}`, `roster_router_upstream_errors{service}`,
 * `roster_router_ejections{service}` (from the client library's hook), next to the process's
 * `process_*` / `nodejs_*`. With several workers (node:cluster) the primary serves the sum of the
 * workers' metrics through prom-client's AggregatorRegistry.
 */
import cluster from 'node:cluster';
import { createServer, type Server } from 'node:http';
import { AggregatorRegistry, Registry } from 'prom-client';
import { metrics, M, PrometheusExporter } from '../util/metrics/index.ts';
import { registerMetricsHook } from '../client/metrics.ts';
import type { Route } from './route.ts';

/** One request answered (by an upstream or by the router itself). */
export function countRequest(route: Route | null, status: number): void {
  M.routerRequests.with(route?.service ?? '', String(status)).inc();
}

/** An upstream connection failed or timed out. */
export function countUpstreamError(service: string): void {
  M.routerUpstreamErrors.with(service).inc();
}

let exporter: PrometheusExporter | null = null;

/** Called in every process that proxies (the single process, or each worker): records, and exposes to the primary. */
export function startRouterMetrics(): void {
  if (exporter) return;
  registerMetricsHook({ eject: service => M.routerEjections.with(service).inc() });
  const registry = new Registry();
  exporter = new PrometheusExporter(metrics, { registry });
  exporter.sync();
  if (cluster.isWorker) {
    // Workers answer the primary's AggregatorRegistry (constructing one adds prom-client's worker-side listener).
    AggregatorRegistry.setRegistries([registry]);
    new AggregatorRegistry();
  }
}

/** Serves GET /metrics on host:port; with workers, from the primary, summing the workers'. */
export async function listenRouterMetrics(host: string, port: number, workers: boolean): Promise<Server> {
  const aggregate = workers ? new AggregatorRegistry() : null;
  if (!aggregate) startRouterMetrics();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/v1/agent/metrics')) { res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n'); return; }
    const text = aggregate ? aggregate.clusterMetrics() : exporter!.text();
    text.then(
      body => res.writeHead(200, { 'Content-Type': aggregate ? aggregate.contentType : 'text/plain; version=0.0.4; charset=utf-8' }).end(body),
      err => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${(err as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, () => { server.off('error', reject); resolve(); }); });
  return server;
}
