/**
 * @module `roster router -listen ADDR [-http-addr ADDR] [-domain consul] [-suffix S]... [-strategy X] [-metrics ADDR]`:
 * the service router (reverse proxy); `-metrics` serves its Prometheus metrics on GET /metrics at ADDR (src/router/metrics.ts).
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { parseFlags } from './flags.ts';
import { ServiceRouter } from '../router/proxy.ts';
import { STRATEGIES } from '../client/strategies.ts';
import type { StrategyName } from '../client/types.ts';
import { logger, setLogLevel, type Level } from '../log.ts';
import { agentAddr } from '../util/agent-addr.ts';
import { listenRouterMetrics, startRouterMetrics } from '../router/metrics.ts';

/** `host:port` (IPv6 in brackets); a bare port means 127.0.0.1. */
export function splitAddr(a: string, flag: string, defaultHost: string): { host: string; port: number } {
  const i = a.lastIndexOf(':');
  const host = i > 0 ? a.slice(0, i).replace(/^\[|\]$/g, '') : defaultHost;
  const port = Number(i >= 0 ? a.slice(i + 1) : a);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || a === '') throw new Error(`invalid -${flag} "${a}"`);
  return { host, port };
}

const FLAGS = {
  listen: 'string', 'http-addr': 'string', 'dns-addr': 'string', token: 'string', domain: 'string', suffix: 'list', strategy: 'string', retries: 'int',
  workers: 'string', 'connect-timeout-ms': 'int', 'upstream-timeout-ms': 'int', 'access-log': 'bool', 'path-routing': 'bool', 'log-level': 'string', 'log-json': 'bool',
  metrics: 'string',
} as const;

export async function routerCommand(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, FLAGS);
  setLogLevel(((flags['log-level'] as string) || 'info') as Level, flags['log-json'] === true);
  const log = logger('router');
  const listen = (flags.listen as string) || '127.0.0.1:8080';
  const i = listen.lastIndexOf(':');
  const host = i > 0 ? listen.slice(0, i).replace(/^\[|\]$/g, '') : '0.0.0.0';
  const port = Number(i >= 0 ? listen.slice(i + 1) : listen);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid -listen "${listen}"`);
  const strategy = ((flags.strategy as string) || 'round-robin') as StrategyName;
  if (!STRATEGIES.includes(strategy)) throw new Error(`invalid -strategy "${strategy}" (valid: ${STRATEGIES.join(', ')})`);
  // -workers N|auto: N processes share the listening socket (node:cluster); each follows the catalog
  // itself. The default, auto, is one per CPU, as nginx's worker_processes auto.
  const workers = parseWorkers(flags.workers as string | undefined);
  const metricsAt = flags.metrics !== undefined ? splitAddr(flags.metrics as string, 'metrics', '127.0.0.1') : null;
  if (workers > 1 && cluster.isPrimary) {
    if (metricsAt) {
      const m = await listenRouterMetrics(metricsAt.host, metricsAt.port, true);
      log.info('router metrics listening', { addr: `${metricsAt.host}:${(m.address() as { port: number }).port}`, path: '/metrics' });
    }
    for (let w = 0; w < workers; w++) cluster.fork();
    let stopping = false;
    cluster.on('exit', (wk, code) => { if (!stopping) { log.warn('router worker exited; restarting', { pid: wk.process.pid, code }); cluster.fork(); } });
    const stopAll = () => { stopping = true; for (const wk of Object.values(cluster.workers ?? {})) wk?.kill('SIGTERM'); setTimeout(() => process.exit(0), 5000).unref(); cluster.on('exit', () => { if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0); }); };
    process.on('SIGINT', stopAll);
    process.on('SIGTERM', stopAll);
    log.info('router started', { workers, listen });
    return new Promise<number>(() => { /* runs until a signal */ });
  }
  const router = new ServiceRouter({
    httpAddr: flags['http-addr'] as string | undefined, dnsAddr: flags['dns-addr'] as string | undefined, token: flags.token as string | undefined,
    domain: (flags.domain as string) || 'consul', suffixes: flags.suffix as string[] | undefined, strategy, retries: flags.retries as number | undefined,
    connectTimeoutMs: flags['connect-timeout-ms'] as number | undefined, upstreamTimeoutMs: flags['upstream-timeout-ms'] as number | undefined,
    accessLog: flags['access-log'] === false ? null : process.stdout, pathRouting: flags['path-routing'] as boolean | undefined,
  });
  if (metricsAt && cluster.isWorker) startRouterMetrics();
  else if (metricsAt) {
    const m = await listenRouterMetrics(metricsAt.host, metricsAt.port, false);
    log.info('router metrics listening', { addr: `${metricsAt.host}:${(m.address() as { port: number }).port}`, path: '/metrics' });
  }
  const addr = await router.listen(port, host);
  log.info('router listening', { addr: `${host}:${addr.port}`, agent: agentAddr(flags['http-addr'] as string | undefined), strategy });
  const stop = async (sig: string) => {
    log.info('stopping router', { signal: sig });
    const t = setTimeout(() => process.exit(0), 5000);
    t.unref();
    await router.close().catch(() => {});
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('interrupt'));
  process.on('SIGTERM', () => void stop('terminated'));
  return new Promise<number>(() => { /* runs until a signal */ });
}

/** `-workers`: a positive integer or `auto` (the default: one process per CPU). */
export function parseWorkers(v: string | undefined, cpus = availableParallelism()): number {
  if (v === undefined || v === '' || v === 'auto') return Math.max(1, cpus);
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`invalid -workers "${v}" (a positive integer or auto)`);
  return n;
}
