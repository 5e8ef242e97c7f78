/**
 * @module DnsServer: Consul's DNS interface (UDP and TCP on client_addr:ports.dns) over the
 * live CatalogView, static zones from config.zoneDirs, and optional recursors.
 *
 * ```ts
 * const dns = new DnsServer({ view, config });
 * const { udpPort, tcpPort } = await dns.listen();   // ports.dns 0 → an ephemeral port, same for both
 * process.on('SIGHUP', () => void dns.reloadZones()); // broken files keep their last good version
 * dns.reload(newConfig);                              // dns_config, recursors, domains; live
 * const reply = await dns.handle(queryBytes, 'udp');  // no sockets needed (tests, fuzzing)
 * await dns.close();
 * ```
 */
import type { CatalogView, ViewChange } from '../catalog/view.ts';
import type { Config, RateLimitConfig } from '../config/schema.ts';
import type { DcDirectory } from '../catalog/datacenters.ts';
import type { Logger } from '../log.ts';
import { DnsHandler } from './handler.ts';
import type { QueryExecutor } from './query-answers.ts';
import type { Transport } from './handler.ts';
import { runtimeFrom, type DnsAcl } from './runtime.ts';
import { ZoneStore } from './zones.ts';
import type { ReloadResult } from './zones.ts';
import type { TcpOptions } from './tcp.ts';
import { bindTransports, closeTransports, type Bound } from './listen.ts';
import { AnswerThread } from './answer-thread.ts';
import { S } from './answer-protocol.ts';
import { LogThrottle } from './log-throttle.ts';
import { ResponseRateLimiter, rateLimitOn } from './rrl.ts';
import { DnsMetrics } from './metrics.ts';
import { metrics } from '../util/metrics/index.ts';

export interface DnsServerOptions {
  view: CatalogView;
  config: Config;
  log?: Logger;
  /** Other datacenters (the agent's WAN pool), read per query; absent = this datacenter alone. */
  dcs?: () => DcDirectory | undefined;
  /** Overrides dns_config.tcp_idle_timeout (tests). */
  tcpIdleMs?: number;
  /** Overrides dns_config.tcp_read_timeout (tests). */
  tcpReadMs?: number;
  /** Overrides dns_config.tcp_max_conns (tests). */
  tcpMaxConnections?: number;
  /** Record per-query metrics (src/dns/metrics.ts). @defaultValue true */
  metrics?: boolean;
}

/** An unknown DNS token: nothing is readable. */
const DENY_ALL: DnsAcl = { allow: () => false };

export class DnsServer {
  readonly #view: CatalogView;
  #config: Config;
  readonly #log: Logger | undefined;
  readonly #handler: DnsHandler;
  readonly #zones: ZoneStore;
  readonly #onChange: (c: ViewChange) => void;
  readonly #tcpOverride: Partial<TcpOptions>;
  readonly #errs: LogThrottle;
  #rrl: ResponseRateLimiter | null;
  #bound: Bound | null = null;
  /** dns_config.answer_thread: the sockets and a copy of the answer cache in a worker (answer-thread.ts). */
  #thread: AnswerThread | null = null;

  constructor(opts: DnsServerOptions) {
    this.#view = opts.view;
    this.#config = opts.config;
    this.#log = opts.log;
    this.#tcpOverride = { idleMs: opts.tcpIdleMs, readMs: opts.tcpReadMs, maxConnections: opts.tcpMaxConnections };
    this.#errs = new LogThrottle(opts.log);
    this.#rrl = limiterFor(opts.config);
    const rt = runtimeFrom(opts.config);
    this.#zones = new ZoneStore(() => [this.#handler.runtime.domain, ...(this.#handler.runtime.altDomain ? [this.#handler.runtime.altDomain] : [])]);
    this.#handler = new DnsHandler(opts.view, rt, this.#zones, opts.log, this.#errs, opts.dcs);
    // Per-query metrics unless turned off (telemetry { disable = true } before the server starts, or the benchmark's switch).
    if (opts.metrics !== false && metrics.settings.enabled) {
      this.#handler.metrics = new DnsMetrics(opts.config.nodeName);
      const cache = this.#handler.cache;
      metrics.gauge('roster.dns.cache_entries', 'Answers held in the DNS answer cache.', () => [{ value: cache.size }]);
      metrics.readCounter('roster.dns.cache_hits', 'DNS answers served from the answer cache.', () => cache.hits + (this.#thread?.hits ?? 0));
      metrics.readCounter('roster.dns.cache_misses', 'DNS answers built because the answer cache had none.', () => cache.misses);
    }
    this.#onChange = c => this.#handler.onChange(c);
    this.#view.on('change', this.#onChange);
  }

  /** The socket-free core: one request in, one reply (or null = no reply) out. */
  handle(query: Buffer, transport: Transport = 'udp', _remote?: { address: string; port: number }): Buffer | null | Promise<Buffer | null> {
    return this.#handler.handle(query, transport);
  }

  /** Plugs in prepared-query execution for `<query>.query.consul` (the agent's; without it those names are NXDOMAIN). */
  setQueryExecutor(exec: QueryExecutor): void {
    this.#handler.queries = exec;
  }

  /** Drops every cached answer (a datacenter appeared or went: names under it change meaning). */
  clearCache(): void {
    this.#handler.clearCache();
  }

  /** Other datacenters' answers: exchanges made and stale answers served. */
  remoteStats(): { exchanges: number; staleServed: number } {
    return { exchanges: this.#handler.remote.exchanges, staleServed: this.#handler.remote.staleServed };
  }

  /** Cache statistics (hits, misses, entries). */
  stats(): { hits: number; misses: number; entries: number } {
    const c = this.#handler.cache;
    return { hits: c.hits + (this.#thread?.hits ?? 0), misses: c.misses, entries: c.size };
  }

  /** The answer thread, when DNS is served from one (dns_config.answer_thread). */
  get answerThread(): AnswerThread | null { return this.#thread; }

  /** Loads zone files, then binds UDP and TCP on every client address (space-separated) at ports.dns. */
  async listen(): Promise<{ udpPort: number; tcpPort: number }> {
    const r = await this.reloadZones();
    for (const e of r.errors) this.#log?.warn('dns: zone file not loaded', { error: e });
    const hosts = this.#config.clientAddr.split(/\s+/).filter(Boolean);
    let port: number;
    if (this.#config.dns.answerThread) {
      this.#thread = await AnswerThread.start({ handler: this.#handler, hosts, port: this.#config.ports.dns, tcp: this.#tcpOptions(), rrl: this.#rrlConfig(), log: this.#log });
      this.#handler.sink = this.#thread;
      this.#handler.metrics?.addExternal(this.#thread.shared);
      port = this.#thread.port;
    } else {
      this.#bound = await bindTransports(this.#handler, hosts, this.#config.ports.dns, this.#tcpOptions(), this.#errs, () => this.#rrl);
      port = this.#bound.port;
    }
    this.#log?.info('dns: listening', { addr: hosts.join(' '), port, answer_thread: this.#thread !== null });
    return { udpPort: port, tcpPort: port };
  }

  #tcpOptions(): TcpOptions {
    const d = this.#config.dns; const o = this.#tcpOverride;
    return {
      idleMs: o.idleMs ?? d.tcpIdleTimeoutMs, readMs: o.readMs ?? d.tcpReadTimeoutMs,
      maxConnections: o.maxConnections ?? d.tcpMaxConns, maxPerClient: d.tcpMaxConnsPerClient,
    };
  }

  /** Response-rate limiting: whether it is on, and how many UDP responses it slipped (TC=1) or dropped. */
  rateLimitStats(): { on: boolean; slipped: number; dropped: number } {
    const t = this.#thread?.shared;
    if (t) return { on: this.#rrl !== null, slipped: t[S.SLIPPED]!, dropped: t[S.RRL_DROPPED]! };
    return { on: this.#rrl !== null, slipped: this.#rrl?.slipped ?? 0, dropped: this.#rrl?.dropped ?? 0 };
  }

  /** Errors and refusals counted by kind (each logged at most once per 10 s). */
  errorCounts(): Record<string, number> { return Object.fromEntries(this.#errs.counts); }

  async close(): Promise<void> {
    const dm = this.#handler.metrics;
    if (dm) { dm.flush(); dm.close(); }
    this.#view.off('change', this.#onChange);
    clearInterval(this.#aclTimer);
    this.#handler.forwarder.close();
    const thread = this.#thread; const bound = this.#bound;
    this.#thread = null; this.#bound = null; this.#handler.sink = null;
    await Promise.all([thread?.close(), bound && closeTransports(bound)]);
  }

  /** Applies new settings (dns_config, recursors, domains, datacenter) to the next query. */
  reload(config: Config): void {
    this.#config = config;
    this.#handler.setRuntime({ ...runtimeFrom(config), acl: this.#acl });
    this.#rrl = limiterFor(config);
    this.#thread?.reconfigure(this.#rrlConfig());
  }

  /** The response-rate-limiting settings when limiting is on for these addresses, else null. */
  #rrlConfig(): RateLimitConfig | null {
    return rateLimitOn(this.#config.dns.rateLimit, this.#config.clientAddr) ? this.#config.dns.rateLimit : null;
  }

  #acl: DnsAcl | null = null;
  #aclTimer?: NodeJS.Timeout;

  /**
   * ACLs: `source` gives what the DNS token may read (null = an unknown token: nothing). Polled
   * every second; cached answers are dropped only when the token's permissions really changed
   * (the resolver hands out the same Authorizer while its token and policies stay the same).
   */
  setAcl(source: () => Promise<DnsAcl | null>): void {
    clearInterval(this.#aclTimer);
    const poll = async () => {
      const a = (await source().catch(() => null)) ?? DENY_ALL;
      if (a === this.#acl) return;
      this.#acl = a;
      this.#handler.setRuntime({ ...this.#handler.runtime, acl: a });
    };
    void poll();
    this.#aclTimer = setInterval(() => void poll(), 1000);
    this.#aclTimer.unref();
  }

  /** Re-reads the zone files (SIGHUP). */
  async reloadZones(): Promise<ReloadResult> {
    const r = await this.#zones.reload(this.#config.zoneDirs);
    this.#handler.setZones(this.#zones);
    for (const e of r.errors) this.#log?.warn('dns: zone file error', { error: e });
    return r;
  }
}

function limiterFor(c: Config): ResponseRateLimiter | null {
  return rateLimitOn(c.dns.rateLimit, c.clientAddr) ? new ResponseRateLimiter(c.dns.rateLimit) : null;
}

export type { Transport, ReloadResult };
