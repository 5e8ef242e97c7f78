/**
 * @module The agent's settings: the only list of them, with their defaults.
 *
 * Names follow Consul's configuration file (snake_case there, camelCase here); src/config/load.ts
 * maps flags and files onto this shape.
 */
import { availableParallelism } from 'node:os';

/** dns_config { ... } in Consul's configuration file. Durations are in milliseconds here. */
export interface DnsConfig {
  /** @defaultValue true */ allowStale: boolean;
  /** @defaultValue 87600h */ maxStaleMs: number;
  /** TTL of node, addr, NS and glue records. @defaultValue 0 */ nodeTtlMs: number;
  /** Service TTLs: exact name, then longest `prefix*`, then `*`. @defaultValue {} */ serviceTtlMs: Record<string, number>;
  /** Set TC when an answer was trimmed. @defaultValue false */ enableTruncate: boolean;
  /** Return only instances whose checks all pass (default: drop critical only). @defaultValue false */ onlyPassing: boolean;
  /** @defaultValue 'sequential' */ recursorStrategy: 'sequential' | 'random';
  /** @defaultValue 2000 */ recursorTimeoutMs: number;
  /** @defaultValue false */ disableCompression: boolean;
  /** Answers in a non-EDNS UDP reply, capped at 8. @defaultValue 3 */ udpAnswerLimit: number;
  /** Max A/AAAA records in an answer, 0 = unlimited. @defaultValue 0 */ aRecordLimit: number;
  /** Node meta TXT in the additional section of SRV and node A answers. @defaultValue true */ enableAdditionalNodeMetaTxt: boolean;
  /** SOA timers in seconds. @defaultValue {refresh:3600, retry:600, expire:86400, minTtl:0} */
  soa: { refresh: number; retry: number; expire: number; minTtl: number };
  // Roster's own DNS limits (issue 11; Consul has none of these keys):
  /** A TCP message must arrive whole within this of its first byte (miekg's read timeout). @defaultValue 2s */ tcpReadTimeoutMs: number;
  /** A TCP connection with no message in progress is closed after this (miekg's idle timeout). @defaultValue 8s */ tcpIdleTimeoutMs: number;
  /** @defaultValue 1024 */ tcpMaxConns: number;
  /** TCP connections one client address may hold. @defaultValue 64 */ tcpMaxConnsPerClient: number;
  /** Forwarded queries in flight; past it, SERVFAIL at once. @defaultValue 150 (dnsmasq's dns-forward-max) */ recursorMaxInFlight: number;
  /** Answers for another datacenter's names are reused this long (Roster's `dc_cache_ttl`); past it, refreshed, and served stale (allow_stale, max_stale) while that datacenter does not answer. @defaultValue 5s */
  dcCacheTtlMs: number;
  /** Response-rate limiting of UDP answers per client prefix (BIND/Knot RRL). */
  rateLimit: RateLimitConfig;
  /**
   * Protection thresholds (Nacos's idea, issue 17): exact name, then longest `prefix*`, then `*`. When the passing
   * fraction of a service's instances falls below its threshold, DNS and `?passing` answer with all of them. @defaultValue {}
   */
  serviceProtectionThreshold: Record<string, number>;
  /**
   * Serve DNS from its own thread (src/dns/answer-thread.ts): sockets, response-rate limiting and cached answers live in a
   * worker with a small heap of its own, so a cached answer never waits on the agent's main thread (a catalog reload, a
   * garbage collection of the catalog's heap). Questions it has no answer for are built by the main thread.
   * @defaultValue true when the process may run on two or more CPUs (os.availableParallelism()); on one, a second thread
   * only takes the main thread's time (measured: bench/dns/run.sh pinned to one core).
   */
  answerThread: boolean;
}

/** eureka { ... }: Eureka's REST API and its self-preservation (issue 17). Durations in ms. */
export interface EurekaConfig {
  /** Serve /eureka/apps and /eureka/v2/apps. @defaultValue true */ enabled: boolean;
  /** @defaultValue true */ enableSelfPreservation: boolean;
  /** @defaultValue 0.85 */ renewalPercentThreshold: number;
  /** @defaultValue 30s */ expectedClientRenewalIntervalMs: number;
  /** Renewals are counted over this window, scaled to a minute. @defaultValue 1m */ renewalRateWindowMs: number;
  /** @defaultValue 60s */ evictionIntervalMs: number;
  /** 'eureka' = guards lease eviction only; 'all' = also TTL check expiry and DeregisterCriticalServiceAfter reaping. @defaultValue 'eureka' */
  selfPreservationScope: 'eureka' | 'all';
  /** How long /apps/delta keeps a change (Eureka's retentionTimeInMSInDeltaQueue). @defaultValue 3m */ deltaRetentionMs: number;
}

export function defaultEurekaConfig(): EurekaConfig {
  return {
    enabled: true, enableSelfPreservation: true, renewalPercentThreshold: 0.85, expectedClientRenewalIntervalMs: 30e3,
    renewalRateWindowMs: 60e3, evictionIntervalMs: 60e3, selfPreservationScope: 'eureka', deltaRetentionMs: 180e3,
  };
}

/** dns_config { rate_limit { ... } }: BIND's RRL knobs. */
export interface RateLimitConfig {
  /** 'auto' = on when some listen address is not loopback. @defaultValue 'auto' */ enabled: boolean | 'auto';
  /** Identical responses per second per client prefix. @defaultValue 20 */ responsesPerSecond: number;
  /** Every Nth limited response is sent as a small TC=1 reply (0 = drop all). @defaultValue 2 */ slip: number;
  /** Seconds of excess a prefix's debt can reach (how long it stays limited after it stops). @defaultValue 15 */ window: number;
  /** @defaultValue 24 */ ipv4PrefixLength: number;
  /** @defaultValue 56 */ ipv6PrefixLength: number;
  /** Loopback sources are never limited. @defaultValue true */ exemptLoopback: boolean;
  /** Buckets kept; the oldest go first. @defaultValue 100000 */ tableSize: number;
}

/** What one HTTP client may hold: `limits { http_max_conns_per_client, ... }` and `http_config { max_header_bytes }`. */
export interface HttpLimits {
  /** Concurrent TCP connections per client IP (Consul's `http_max_conns_per_client`); 0 = unlimited. @defaultValue 200 */
  maxConnsPerClient: number;
  /** Concurrent blocking queries (`?index=`) per client IP (`http_max_blocking_queries_per_client`); 0 = unlimited. @defaultValue 200 */
  maxBlockingPerClient: number;
  /** Request line + headers (`http_config { max_header_bytes }`). @defaultValue 65536 */
  maxHeaderBytes: number;
  /** Time a client has to send the request line and headers (`http_header_timeout`). @defaultValue 10s */
  headerTimeoutMs: number;
  /** Time a client has to send the whole request, body included (`http_request_timeout`). @defaultValue 30s */
  requestTimeoutMs: number;
}

export function defaultHttpLimits(): HttpLimits {
  return { maxConnsPerClient: 200, maxBlockingPerClient: 200, maxHeaderBytes: 64 * 1024, headerTimeoutMs: 10_000, requestTimeoutMs: 30_000 };
}

/** `acl { ... }` in Consul's configuration file (src/config/acl.ts reads it). */
export interface AclConfig {
  /** @defaultValue false */ enabled: boolean;
  /** Decision when no rule matches. @defaultValue 'allow' */ defaultPolicy: 'allow' | 'deny';
  /** What tokens may do while Redis (the ACL store) is unreachable. @defaultValue 'extend-cache' */
  downPolicy: 'allow' | 'deny' | 'extend-cache' | 'async-cache';
  /** Tokens set through PUT /v1/agent/token/* survive a restart (kept in <data-dir>/acl-tokens.json, 0600). @defaultValue false */
  enableTokenPersistence: boolean;
  /** KV ?recurse / ?keys need `list` on the prefix. @defaultValue false */ enableKeyListPolicy: boolean;
  /** How long an agent keeps a resolved token (changes reach agents sooner: see src/acl/resolver.ts). @defaultValue 30s */ tokenTtlMs: number;
  /** Tokens of this agent (secrets: registered with the logger's redaction). */
  tokens: { initialManagement?: string; agent?: string; default?: string; dns?: string; agentRecovery?: string };
}

export function defaultAclConfig(): AclConfig {
  return { enabled: false, defaultPolicy: 'allow', downPolicy: 'extend-cache', enableTokenPersistence: false, enableKeyListPolicy: false, tokenTtlMs: 30_000, tokens: {} };
}

export interface Ports {
  /** @defaultValue 8500 */ http: number;
  /** @defaultValue 8600 */ dns: number;
  /** @defaultValue 8301 */ serfLan: number;
  /** The WAN pool (federation between datacenters); -1 turns it off, as Consul's `-serf-wan-port -1`. @defaultValue 8302 */ serfWan: number;
  /** Advertised in /v1/status/leader. @defaultValue 8300 */ server: number;
  /** HTTPS API (needs tls cert_file and key_file); -1 = off. @defaultValue -1 */ https: number;
}

/** `tls { defaults { ... } }` (and Consul's older top-level keys): the HTTPS listener's files. */
export interface TlsConfig {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Require a client certificate signed by the CA. @defaultValue false */
  verifyIncoming: boolean;
}

export interface Config {
  dev: boolean;
  nodeName: string;
  /** Node UUID; derived from the node name and data dir when empty. */
  nodeId: string;
  datacenter: string;
  /** Primary DNS domain, without trailing dot. @defaultValue 'consul' */
  domain: string;
  /** Secondary domain answered like the primary. @defaultValue '' */
  altDomain: string;
  /** Address the HTTP and DNS servers listen on. @defaultValue 127.0.0.1 */
  clientAddr: string;
  /** Address gossip binds to. @defaultValue 127.0.0.1 in -dev, else 0.0.0.0 */
  bindAddr: string;
  /** Address advertised to others (node Address). @defaultValue the bind address, or 127.0.0.1 */
  advertiseAddr: string;
  ports: Ports;
  /** @defaultValue .data/<node> in -dev */
  dataDir: string;
  /** redis:// URL, or '' to spawn an embedded redis-server (dev mode). */
  redisUrl: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** Upstream resolvers for names outside the zone; "8.8.8.8" means 8.8.8.8:53. */
  recursors: string[];
  /** Folders of RFC 1035 zone files served as they stand. @defaultValue ['zones'] when present */
  zoneDirs: string[];
  dns: DnsConfig;
  /** In-process check workers; 0 turns the in-process worker off. @defaultValue 1 */
  checksWorkers: number;
  /** Concurrency of each check worker. @defaultValue 50 */
  checksConcurrency: number;
  /** Output-only check changes are written at most this often. @defaultValue 5m */
  checkUpdateIntervalMs: number;
  /** Addresses to join at start (-join) and to keep retrying (-retry-join). */
  startJoin: string[];
  retryJoin: string[];
  /** WAN pool: addresses to join at start (-join-wan, start_join_wan) and to keep retrying (-retry-join-wan, retry_join_wan). */
  startJoinWan: string[];
  retryJoinWan: string[];
  /** -retry-interval-wan. @defaultValue 30s */
  retryIntervalWanMs: number;
  /** gossip_wan { ... } overrides of memberlist's WAN timing, in ms. */
  gossipWan: Record<string, number>;
  /** Deadline of a request forwarded to another datacenter (`?dc=`, prepared-query failover); blocking queries add their wait. Roster's `dc_forward_timeout`. @defaultValue 5s */
  dcForwardTimeoutMs: number;
  /** Gossip key, base64. */
  encrypt: string;
  /** -retry-join interval. @defaultValue 30s */
  retryIntervalMs: number;
  /** gossip_lan { ... } overrides of memberlist's LAN timing, in ms (probeIntervalMs, suspicionMult, ...). */
  gossipLan: Record<string, number>;
  /** Leave the cluster gracefully on SIGTERM (SIGINT always leaves, as Consul clients do). @defaultValue false */
  leaveOnTerminate: boolean;
  /** Folders of service definition files (-config-dir). */
  configDirs: string[];
  /** Service definitions from config files. */
  services: unknown[];
  /** Accept GET on the write endpoints old python-consul sends GET to (cross-site writes are refused either way). @defaultValue false */
  legacyGetCompat: boolean;
  /** Per-client HTTP limits and deadlines. */
  http: HttpLimits;
  /** Register the built-in `consul` service for this agent. @defaultValue true */
  registerConsulService: boolean;
  /** How often critical checks are examined for DeregisterCriticalServiceAfter (Consul's check_reap_interval). @defaultValue the engine's */
  checkReapIntervalMs?: number;
  /** Lower bound of DeregisterCriticalServiceAfter (Consul's dev-only check_deregister_interval_min). @defaultValue the engine's */
  checkDeregisterMinMs?: number;
  /** Consul's discovery_max_stale: catalog and health reads without a consistency mode are served as `?max_stale=` this (0: off). @defaultValue 0 */
  discoveryMaxStaleMs: number;
  /** Full catalog resync interval of the DNS view. @defaultValue 30s */
  resyncIntervalMs: number;
  /** Deadline of every command on the agent's Redis connection (Consul's RPC hold is 7 s). */
  redisTimeoutMs: number;
  /** TLS files for a `rediss://`, `rediss-sentinel://` or `rediss-cluster://` URL (config keys `redis_tls_*_file`, `redis_tls_server_name`). */
  redisTls: { caFile?: string; certFile?: string; keyFile?: string; serverName?: string };
  /**
   * Replicas that must confirm an acknowledged write (`WAIT`) before the client gets its answer.
   * `undefined` = 1 when the primary reports connected replicas, else 0 (re-read on every reconnect).
   */
  redisMinReplicasAcked?: number;
  /** Script checks (`Args`) registered through any endpoint may run (Consul's enable_script_checks). @defaultValue false */
  enableScriptChecks: boolean;
  /** Script checks may come from config files and from loopback clients of the agent API only. @defaultValue false */
  enableLocalScriptChecks: boolean;
  /** TLS for the HTTPS listener. */
  tls: TlsConfig;
  /** The agent's own node meta (`node_meta` in a config file, `-node-meta key:value`). @defaultValue {} */
  nodeMeta: Record<string, string>;
  /** Anti-entropy full sync interval, before the cluster-size stagger (Consul's ae_interval). @defaultValue 1m */
  aeIntervalMs: number;
  /** telemetry { ... } (issue 16). */
  telemetry: TelemetryConfig;
  /** Eureka's REST API and self-preservation (issue 17). */
  eureka: EurekaConfig;
  /** Access control (issue 14). */
  acl: AclConfig;
}

/** telemetry { ... } in Consul's configuration file. Prometheus output is on whatever the retention. */
export interface TelemetryConfig {
  /** Stop recording metrics (the endpoints still answer, with what was recorded). @defaultValue false */ disable: boolean;
  /** First part of Consul's metric names. @defaultValue 'consul' */ metricsPrefix: string;
  /** Labelled series not updated for this long are dropped; 0 = the default. @defaultValue 60s */ prometheusRetentionMs: number;
  /** `false` inserts the host name in gauge names, as Consul does; unset = no host name. @defaultValue undefined */ disableHostname?: boolean;
}

export function defaultDnsConfig(): DnsConfig {
  return {
    allowStale: true, maxStaleMs: 87600 * 3600e3, nodeTtlMs: 0, serviceTtlMs: {}, enableTruncate: false, onlyPassing: false, answerThread: availableParallelism() > 1,
    recursorStrategy: 'sequential', recursorTimeoutMs: 2000, disableCompression: false, udpAnswerLimit: 3, aRecordLimit: 0,
    enableAdditionalNodeMetaTxt: true, soa: { refresh: 3600, retry: 600, expire: 86400, minTtl: 0 },
    tcpReadTimeoutMs: 2000, tcpIdleTimeoutMs: 8000, tcpMaxConns: 1024, tcpMaxConnsPerClient: 64, recursorMaxInFlight: 150, dcCacheTtlMs: 5000,
    rateLimit: { enabled: 'auto', responsesPerSecond: 20, slip: 2, window: 15, ipv4PrefixLength: 24, ipv6PrefixLength: 56, exemptLoopback: true, tableSize: 100_000 },
    serviceProtectionThreshold: {},
  };
}

export function defaultConfig(): Config {
  return {
    dev: false, nodeName: '', nodeId: '', datacenter: 'dc1', domain: 'consul', altDomain: '', clientAddr: '127.0.0.1',
    bindAddr: '', advertiseAddr: '', ports: { http: 8500, dns: 8600, serfLan: 8301, serfWan: 8302, server: 8300, https: -1 }, dataDir: '', redisUrl: '',
    logLevel: 'info', recursors: [], zoneDirs: [], dns: defaultDnsConfig(), checksWorkers: 1, checksConcurrency: 50,
    checkUpdateIntervalMs: 5 * 60e3, startJoin: [], retryJoin: [], encrypt: '', retryIntervalMs: 30e3, gossipLan: {}, startJoinWan: [], retryJoinWan: [], retryIntervalWanMs: 30e3, gossipWan: {}, dcForwardTimeoutMs: 5e3, leaveOnTerminate: false, configDirs: [], services: [], legacyGetCompat: false, http: defaultHttpLimits(),
    registerConsulService: true, discoveryMaxStaleMs: 0, resyncIntervalMs: 30e3, redisTimeoutMs: 5e3, redisTls: {}, aeIntervalMs: 60e3, nodeMeta: {}, enableScriptChecks: false, enableLocalScriptChecks: false, tls: { verifyIncoming: false },
    eureka: defaultEurekaConfig(),
    acl: defaultAclConfig(),
    telemetry: { disable: false, metricsPrefix: 'consul', prometheusRetentionMs: 0 },
  };
}
