/**
 * @module The one owner of Redis connections: parses the `-redis` URL (standalone, TLS, Sentinel,
 * Cluster) and creates every connection a process holds — command, subscriber, BullMQ queue and
 * worker connections — with one set of timeouts and retry rules, so that each follows a failover
 * on its own (ioredis's Sentinel and Cluster support; BullMQ takes the same connections).
 *
 * URLs:
 *  - `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS; CA, certificate and key from files);
 *  - `redis-sentinel://[user:pass@]h1:p1,h2:p2,h3:p3/<master-name>[?db=N]`: the credentials are the
 *    data nodes' (primary and replicas); the sentinels are asked without a password;
 *  - `redis-cluster://[user:pass@]h1:p1,h2:p2,...`: seed nodes of a Redis Cluster (db 0 only);
 *  - `rediss-sentinel://…`, `rediss-cluster://…` (Lettuce's `rediss-sentinel`): the same over TLS, to every
 *    process of the topology (sentinels, primary and replicas; every cluster node), with one set of TLS files.
 */
import { Redis, Cluster } from 'ioredis';
import type { RedisOptions, ClusterOptions } from 'ioredis';
import { readFileSync } from 'node:fs';
import { instrumentRedis } from './redis-metrics.ts';

/** Where Redis is, as parsed from a URL. */
export interface RedisEndpoint {
  kind: 'redis' | 'sentinel' | 'cluster';
  hosts: { host: string; port: number }[];
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  /** Sentinel: the monitored primary's name. */
  masterName?: string;
}

/** TLS files for `rediss://`, `rediss-sentinel://`, `rediss-cluster://` (config keys `redis_tls_ca_file`, `redis_tls_cert_file`, `redis_tls_key_file`, `redis_tls_server_name`). */
export interface RedisTlsFiles { caFile?: string; certFile?: string; keyFile?: string; serverName?: string }

/** What a connection is for; each role gets the retry and queueing rules that suit it. */
export type RedisRole = 'command' | 'subscriber' | 'queue' | 'blocking';

/** A connection to a standalone or Sentinel-managed Redis, or to a Redis Cluster (same command API). */
export type RedisConn = Redis;

const SCHEMES: Record<string, { kind: RedisEndpoint['kind']; tls: boolean; port: number }> = {
  'redis:': { kind: 'redis', tls: false, port: 6379 },
  'rediss:': { kind: 'redis', tls: true, port: 6379 },
  'redis-sentinel:': { kind: 'sentinel', tls: false, port: 26379 },
  'redis-cluster:': { kind: 'cluster', tls: false, port: 6379 },
  'rediss-sentinel:': { kind: 'sentinel', tls: true, port: 26379 },
  'rediss-cluster:': { kind: 'cluster', tls: true, port: 6379 },
};

/** The URL with its password (and any `password=` parameter) replaced by `[redacted]`: safe for logs and errors. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^/]*@/i, '$1[redacted]@').replace(/([?&]password=)[^&]*/gi, '$1[redacted]');
}

function bad(url: string, why: string): Error {
  return new Error(`invalid Redis URL ${redactRedisUrl(url)}: ${why}`);
}

function hostPort(url: string, s: string, def: number): { host: string; port: number } {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/i.exec(s);
  if (!m) throw bad(url, `bad host "${s}"`);
  const port = m[3] === undefined ? def : Number(m[3]);
  if (!(port > 0 && port < 65536)) throw bad(url, `bad port in "${s}"`);
  return { host: m[1] ?? m[2]!, port };
}

/** Parses a Redis URL; throws `invalid Redis URL <redacted>: <why>` on anything it cannot use. */
export function parseRedisUrl(url: string): RedisEndpoint {
  const m = /^([a-z][a-z0-9+.-]*:)\/\/(?:([^@/]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!m) throw bad(url, 'expected scheme://host:port');
  const scheme = SCHEMES[m[1]!.toLowerCase()];
  if (!scheme) throw bad(url, `unknown scheme ${m[1]} (redis:, rediss:, redis-sentinel:, rediss-sentinel:, redis-cluster:, rediss-cluster:)`);
  const ep: RedisEndpoint = { kind: scheme.kind, tls: scheme.tls, hosts: [], db: 0 };
  if (m[2] !== undefined) {
    const i = m[2].indexOf(':');
    const user = decodeURIComponent(i < 0 ? m[2] : m[2].slice(0, i));
    if (i >= 0 && i < m[2].length - 1) ep.password = decodeURIComponent(m[2].slice(i + 1));
    if (user) ep.username = user;
  }
  if (!m[3]) throw bad(url, 'no host');
  ep.hosts = m[3].split(',').map(h => hostPort(url, h, scheme.port));
  if (ep.kind === 'redis' && ep.hosts.length !== 1) throw bad(url, 'one host only (use redis-sentinel:// or redis-cluster:// for several)');
  const path = (m[4] ?? '').replace(/^\//, '');
  const params = new URLSearchParams(m[5] ?? '');
  const dbParam = params.get('db');
  if (ep.kind === 'sentinel') {
    if (!path) throw bad(url, 'no master name (redis-sentinel://h1:p1,h2:p2/<master-name>)');
    ep.masterName = decodeURIComponent(path);
    if (dbParam !== null) ep.db = Number(dbParam);
  } else if (path) {
    ep.db = Number(path);
  } else if (dbParam !== null) ep.db = Number(dbParam);
  if (!Number.isInteger(ep.db) || ep.db < 0) throw bad(url, 'bad database number');
  if (ep.kind === 'cluster' && ep.db !== 0) throw bad(url, 'Redis Cluster has database 0 only');
  return ep;
}

/** Rules shared by every connection: how fast to reconnect, how long a command may take. */
export interface ConnectorOptions {
  /** Deadline of every command on a `command` connection (`redis_timeout`). */
  timeoutMs: number;
  tls?: RedisTlsFiles;
  /** Connection name shown by CLIENT LIST (e.g. `roster-agent`). */
  name?: string;
}

/** Reconnect quickly (a failover takes seconds): 50 ms per attempt, at most 500 ms between attempts. */
const retryStrategy = (t: number): number => Math.min(t * 50, 500);

/** Creates the process's Redis connections from one URL, all with the same rules. */
export class RedisConnector {
  readonly endpoint: RedisEndpoint;
  /** The URL with its password redacted. */
  readonly display: string;
  readonly #opts: ConnectorOptions;
  readonly #tls?: RedisOptions['tls'];

  constructor(url: string, opts: ConnectorOptions) {
    this.endpoint = parseRedisUrl(url);
    this.display = redactRedisUrl(url);
    this.#opts = opts;
    if (this.endpoint.tls) {
      const f = opts.tls ?? {};
      const read = (p: string | undefined, what: string) => {
        if (!p) return undefined;
        try { return readFileSync(p); } catch (err) { throw new Error(`cannot read Redis TLS ${what} file ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`); }
      };
      this.#tls = { ca: read(f.caFile, 'CA'), cert: read(f.certFile, 'certificate'), key: read(f.keyFile, 'key'), servername: f.serverName };
    }
  }

  /** The options of one role (without where to connect). */
  roleOptions(role: RedisRole): RedisOptions {
    const ep = this.endpoint;
    const base: RedisOptions = {
      username: ep.username, password: ep.password, db: ep.db, tls: this.#tls, connectTimeout: 2000, retryStrategy,
      connectionName: this.#opts.name,
    };
    switch (role) {
      // Request path: fail fast. No offline queue, one retry, a deadline on every command (a frozen
      // Redis keeps the socket open and never answers).
      // A command sent but unanswered when the connection drops is failed (500, fate unknown), not resent
      // to whatever primary comes next: ioredis's autoResendUnfulfilledCommands would run it a second time.
      // (A repeat would be harmless for the catalog scripts, which compare bodies and bump nothing on an
      // identical write, but not for a KV check-and-set, which would answer false for its own write.)
      case 'command': return { ...base, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: this.#opts.timeoutMs, autoResendUnfulfilledCommands: false };
      // Pub/sub: resubscribes by itself after every reconnect; the owner resyncs on 'ready'.
      case 'subscriber': return { ...base, lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null };
      // BullMQ requires maxRetriesPerRequest null (its blocking reads wait for jobs).
      case 'queue': return { ...base, maxRetriesPerRequest: null, enableReadyCheck: true };
      // Blocking reads (XREAD BLOCK, BLPOP): their owner bounds each read (block time + redis_timeout).
      case 'blocking': return { ...base, lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null };
    }
  }

  /** A new connection for `role`; `command` and `subscriber` connections are lazy (call connect()). */
  create(role: RedisRole): RedisConn {
    const ep = this.endpoint;
    const o = this.roleOptions(role);
    if (ep.kind === 'sentinel') {
      // TLS (rediss-sentinel://): to the sentinels (sentinelTLS) and to the primary they name (tls, used only with
      // enableTLSForSentinelMode); the same CA, client certificate and server name for both.
      const conn = new Redis({
        ...o, sentinels: ep.hosts, name: ep.masterName, role: 'master',
        sentinelRetryStrategy: (t: number) => Math.min(t * 50, 500),
        ...(this.#tls ? { enableTLSForSentinelMode: true, sentinelTLS: this.#tls } : {}),
      });
      if (role === 'command') instrumentRedis(conn, role);
      return conn;
    }
    if (ep.kind === 'cluster') {
      // TLS (rediss-cluster://): redisOptions.tls applies to every node connection, seeds and those CLUSTER SLOTS names.
      const { lazyConnect, enableOfflineQueue, maxRetriesPerRequest, ...redisOptions } = o;
      const co: ClusterOptions = {
        lazyConnect, enableOfflineQueue, redisOptions: { ...redisOptions, maxRetriesPerRequest },
        clusterRetryStrategy: retryStrategy, slotsRefreshTimeout: 2000,
      };
      const cluster = new Cluster(ep.hosts, co);
      if (role === 'command') instrumentRedis(cluster, role);
      return cluster as unknown as RedisConn;
    }
    const conn = new Redis({ ...o, host: ep.hosts[0]!.host, port: ep.hosts[0]!.port });
    if (role === 'command') instrumentRedis(conn, role);
    return conn;
  }
}
