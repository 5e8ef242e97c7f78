/**
 * @module `roster worker -redis URL [-redis-password-file F] [-concurrency N] [-datacenter dc1]`: runs health checks from
 * the datacenter's BullMQ queue in a process of its own. Any number may run next to the agents;
 * a worker killed mid-run loses no check (the next iteration is already scheduled) and doubles
 * none (each iteration is claimed once in Redis). `-stats-interval 10s` prints one JSON line of
 * throughput and lateness per interval (benchmarks).
 */
import { RedisConnector } from '../store/connect.ts';
import { parseFlags } from './flags.ts';
import { redisUrlWithSecret } from '../config/load.ts';
import { CatalogStore } from '../store/catalog-store.ts';
import { keysFor } from '../store/keys.ts';
import { CheckWorker } from '../checks/worker.ts';
import { setLogLevel, logger } from '../log.ts';
import { parseDurationNs } from '../util/duration.ts';

const FLAGS = { redis: 'string', 'redis-password-file': 'string', 'redis-tls-ca-file': 'string', 'redis-tls-cert-file': 'string', 'redis-tls-key-file': 'string', 'redis-tls-server-name': 'string', 'redis-timeout': 'string', concurrency: 'int', datacenter: 'string', 'log-level': 'string', 'log-json': 'bool', 'stats-interval': 'string' } as const;

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** `roster worker`: runs until SIGINT/SIGTERM. */
export async function workerCommand(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, FLAGS);
  const raw = (flags.redis as string | undefined) || process.env.ROSTER_REDIS_URL;
  if (!raw) throw new Error('roster worker needs -redis redis://host:port');
  const url = redisUrlWithSecret(raw, flags['redis-password-file'] as string | undefined, process.env);
  setLogLevel(((flags['log-level'] as string | undefined) ?? 'info').toLowerCase() as 'info', flags['log-json'] === true);
  const log = logger('worker');
  const dc = (flags.datacenter as string | undefined) || 'dc1';
  const concurrency = (flags.concurrency as number | undefined) ?? 50;
  const str = (k: string) => flags[k] as string | undefined;
  const connector = new RedisConnector(url, {
    timeoutMs: str('redis-timeout') ? parseDurationNs(str('redis-timeout')!) / 1e6 : 5000, name: 'roster-worker',
    tls: { caFile: str('redis-tls-ca-file'), certFile: str('redis-tls-cert-file'), keyFile: str('redis-tls-key-file'), serverName: str('redis-tls-server-name') },
  });
  const redis = connector.create('command');
  redis.on('error', err => log.debug('redis error', { err: err.message }));
  redis.connect().catch(() => { /* reconnects by itself (retryStrategy) */ });
  const store = new CatalogStore(redis, keysFor(dc));
  const worker = new CheckWorker({ connector, store, prefix: store.keys.bullPrefix, concurrency });
  log.info('Roster check worker running', { redis: connector.display, datacenter: dc, concurrency, pid: process.pid });
  let statsTimer: NodeJS.Timeout | undefined;
  const si = flags['stats-interval'] as string | undefined;
  if (si) {
    const every = parseDurationNs(si) / 1e6;
    let last = process.cpuUsage();
    let lastT = Date.now();
    statsTimer = setInterval(() => {
      const s = worker.snapshot();
      const now = Date.now();
      const cpu = process.cpuUsage(last);
      last = process.cpuUsage();
      const lat = s.lateness.sort((a, b) => a - b);
      process.stdout.write(JSON.stringify({
        stats: true, pid: process.pid, t: now, runs: s.runs, skipped: s.skipped, rate: +(s.runs / ((now - lastT) / 1000)).toFixed(1),
        p50: pct(lat, 50), p99: pct(lat, 99), max: lat.length ? lat[lat.length - 1] : 0,
        cpu: +(((cpu.user + cpu.system) / 1000 / (now - lastT)) * 100).toFixed(1), rssMB: +(process.memoryUsage().rss / 1048576).toFixed(1), heapMB: +(process.memoryUsage().heapUsed / 1048576).toFixed(1),
      }) + '\n');
      lastT = now;
    }, every);
  }
  const stop = async (sig: string) => {
    log.info('caught signal, stopping worker', { signal: sig });
    clearInterval(statsTimer);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await worker.close();
    redis.disconnect();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('interrupt'));
  process.on('SIGTERM', () => void stop('terminated'));
  return new Promise<number>(() => { /* runs until a signal */ });
}
