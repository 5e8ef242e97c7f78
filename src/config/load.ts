/**
 * @module Builds the agent's Config from defaults, config files (Consul's JSON format) and
 * flags, in that order of precedence (flags win). The only reader of the environment.
 */
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultConfig, type Config, type DnsConfig, type EurekaConfig } from './schema.ts';
import type { FlagValues } from '../cli/flags.ts';
import { parseDurationNs } from '../util/duration.ts';
import { parseHcl } from './hcl.ts';
import { redact, registerSecret } from '../log.ts';
import { applyAclConfig } from './acl.ts';

/** The agent's flags, with Consul's names. */
export const AGENT_FLAGS = {
  dev: 'bool', node: 'string', 'node-id': 'string', datacenter: 'string', domain: 'string', 'alt-domain': 'string', client: 'string', bind: 'string',
  'advertise': 'string', 'http-port': 'int', 'dns-port': 'int', 'serf-lan-port': 'int', 'serf-wan-port': 'int', 'server-port': 'int', 'data-dir': 'string', redis: 'string',
  'config-file': 'list', 'config-dir': 'list', 'config-format': 'string', 'log-level': 'string', 'log-json': 'bool', recursor: 'list', 'zone-dir': 'list',
  join: 'list', 'retry-join': 'list', 'retry-interval': 'string', 'join-wan': 'list', 'retry-join-wan': 'list', 'retry-interval-wan': 'string', encrypt: 'string', 'checks-workers': 'int', 'checks-concurrency': 'int', server: 'bool', bootstrap: 'bool',
  'bootstrap-expect': 'int', ui: 'bool', 'legacy-get-compat': 'bool', 'disable-host-node-id': 'bool', 'enable-script-checks': 'bool', 'hcl': 'list',
  'redis-password-file': 'string', 'encrypt-file': 'string', 'node-meta': 'list', 'https-port': 'int', 'enable-local-script-checks': 'bool',
  'redis-tls-ca-file': 'string', 'redis-tls-cert-file': 'string', 'redis-tls-key-file': 'string', 'redis-tls-server-name': 'string',
} as const;

/** Reads a secret from a file (trimmed); the error names the file, never the content. */
export function readSecretFile(path: string, what: string): string {
  let v: string;
  try { v = readFileSync(path, 'utf8').trim(); } catch (err) { throw new Error(`cannot read ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`); }
  if (!v) throw new Error(`${what} file ${path} is empty`);
  return v;
}

/**
 * The Redis URL with its password: from `-redis-password-file`, else `$ROSTER_REDIS_PASSWORD`, else
 * `$REDISCLI_AUTH` (redis-cli's variable), else whatever the URL carries. The password is
 * registered with the logger, so no log line shows it. Shared by `roster agent` and `roster worker`.
 */
export function redisUrlWithSecret(url: string, passwordFile: string | undefined, env: NodeJS.ProcessEnv): string {
  const pw = passwordFile ? readSecretFile(passwordFile, 'Redis password') : env.ROSTER_REDIS_PASSWORD || env.REDISCLI_AUTH || '';
  if (!url) return url;
  // Not WHATWG URL: redis-sentinel:// and redis-cluster:// carry several hosts (h1:p1,h2:p2).
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^@/]*)@)?(.*)$/is.exec(url);
  if (!m) throw new Error(`invalid Redis URL ${redact(url)}`);
  let auth = m[2];
  if (pw) {
    const user = auth === undefined ? '' : auth.includes(':') ? auth.slice(0, auth.indexOf(':')) : auth;
    auth = `${user}:${encodeURIComponent(pw)}`;
  }
  const secret = auth?.includes(':') ? auth.slice(auth.indexOf(':') + 1) : '';
  if (secret) registerSecret(decodeURIComponent(secret));
  return pw ? `${m[1]}${auth}@${m[3]}` : url;
}

const ms = (v: unknown): number => (typeof v === 'number' ? v * 1000 : parseDurationNs(String(v)) / 1e6);

/** String settings: [config-file key (Consul's snake_case), flag, setter]. Files apply first, flags win. */
const STRING_SETTINGS: readonly (readonly [string, string, (c: Config, v: string) => void])[] = [
  ['datacenter', 'datacenter', (c, v) => { c.datacenter = v; }],
  ['node_name', 'node', (c, v) => { c.nodeName = v; }],
  ['node_id', 'node-id', (c, v) => { c.nodeId = v; }],
  ['domain', 'domain', (c, v) => { c.domain = v.replace(/\.$/, ''); }],
  ['alt_domain', 'alt-domain', (c, v) => { c.altDomain = v.replace(/\.$/, ''); }],
  ['client_addr', 'client', (c, v) => { c.clientAddr = v; }],
  ['bind_addr', 'bind', (c, v) => { c.bindAddr = v; }],
  ['advertise_addr', 'advertise', (c, v) => { c.advertiseAddr = v; }],
  ['data_dir', 'data-dir', (c, v) => { c.dataDir = v; }],
  ['log_level', 'log-level', (c, v) => { c.logLevel = v.toLowerCase() as Config['logLevel']; }],
  ['redis', 'redis', (c, v) => { c.redisUrl = v; }],
  ['redis_tls_ca_file', 'redis-tls-ca-file', (c, v) => { c.redisTls.caFile = v; }],
  ['redis_tls_cert_file', 'redis-tls-cert-file', (c, v) => { c.redisTls.certFile = v; }],
  ['redis_tls_key_file', 'redis-tls-key-file', (c, v) => { c.redisTls.keyFile = v; }],
  ['redis_tls_server_name', 'redis-tls-server-name', (c, v) => { c.redisTls.serverName = v; }],
  ['encrypt', 'encrypt', (c, v) => { c.encrypt = v; }],
];

/** Ports: [key under `ports` in a config file, flag, Config.ports field]. */
const PORTS: readonly (readonly [string, string, keyof Config['ports']])[] = [
  ['http', 'http-port', 'http'], ['dns', 'dns-port', 'dns'], ['serf_lan', 'serf-lan-port', 'serfLan'], ['serf_wan', 'serf-wan-port', 'serfWan'], ['server', 'server-port', 'server'], ['https', 'https-port', 'https'],
];

/** Applies one parsed config-file object (Consul's snake_case keys) onto cfg. */
export function applyFile(cfg: Config, f: Record<string, unknown>, source: string, withServices = true): void {
  for (const [key, , set] of STRING_SETTINGS) if (f[key]) set(cfg, f[key] as string);
  if (Array.isArray(f.recursors)) cfg.recursors = f.recursors as string[];
  if (typeof f.recursor === 'string') cfg.recursors = [f.recursor];
  if (Array.isArray(f.zone_dirs)) cfg.zoneDirs = f.zone_dirs as string[];
  if (Array.isArray(f.start_join)) cfg.startJoin.push(...(f.start_join as string[]));
  if (Array.isArray(f.retry_join)) cfg.retryJoin.push(...(f.retry_join as string[]));
  if (Array.isArray(f.start_join_wan)) cfg.startJoinWan.push(...(f.start_join_wan as string[]));
  if (Array.isArray(f.retry_join_wan)) cfg.retryJoinWan.push(...(f.retry_join_wan as string[]));
  if (f.retry_interval_wan !== undefined) cfg.retryIntervalWanMs = ms(f.retry_interval_wan);
  if (f.dc_forward_timeout !== undefined) cfg.dcForwardTimeoutMs = ms(f.dc_forward_timeout);
  if (f.check_update_interval !== undefined) cfg.checkUpdateIntervalMs = ms(f.check_update_interval);
  if (f.discovery_max_stale !== undefined) cfg.discoveryMaxStaleMs = ms(f.discovery_max_stale);
  if (f.catalog_resync_interval !== undefined) cfg.resyncIntervalMs = ms(f.catalog_resync_interval);
  if (f.redis_timeout !== undefined) cfg.redisTimeoutMs = ms(f.redis_timeout);
  if (f.redis_min_replicas_acked !== undefined) {
    const n = f.redis_min_replicas_acked;
    if (!(typeof n === 'number' && Number.isInteger(n) && n >= 0)) throw new Error(`${source}: redis_min_replicas_acked must be a whole number >= 0`);
    cfg.redisMinReplicasAcked = n;
  }
  if (typeof f.checks_workers === 'number') cfg.checksWorkers = f.checks_workers;
  if (f.retry_interval !== undefined) cfg.retryIntervalMs = ms(f.retry_interval);
  if (typeof f.leave_on_terminate === 'boolean') cfg.leaveOnTerminate = f.leave_on_terminate;
  for (const [block, into] of [['gossip_lan', cfg.gossipLan], ['gossip_wan', cfg.gossipWan]] as const) {
    const gl = f[block] as Record<string, unknown> | undefined;
    if (!gl) continue;
    const durations: Record<string, string> = { probe_interval: 'probeIntervalMs', probe_timeout: 'probeTimeoutMs', gossip_interval: 'gossipIntervalMs', push_pull_interval: 'pushPullIntervalMs', reap_interval: 'reapIntervalMs', reconnect_timeout: 'reconnectTimeoutMs', tombstone_timeout: 'tombstoneTimeoutMs' };
    const counts: Record<string, string> = { suspicion_mult: 'suspicionMult', suspicion_max_timeout_mult: 'suspicionMaxTimeoutMult', retransmit_mult: 'retransmitMult', gossip_nodes: 'gossipNodes', indirect_checks: 'indirectChecks' };
    for (const [k, v] of Object.entries(gl)) {
      if (durations[k]) into[durations[k]] = ms(v);
      else if (counts[k] && typeof v === 'number') into[counts[k]] = v;
      else throw new Error(`${source}: unknown or invalid ${block} key "${k}"`);
    }
  }
  if (f.ae_interval !== undefined) cfg.aeIntervalMs = ms(f.ae_interval);
  if (typeof f.enable_script_checks === 'boolean') cfg.enableScriptChecks = f.enable_script_checks;
  if (typeof f.enable_local_script_checks === 'boolean') cfg.enableLocalScriptChecks = f.enable_local_script_checks;
  applyTls(cfg, f, source);
  if (f.node_meta !== undefined) {
    const m = f.node_meta;
    if (typeof m !== 'object' || m === null || Array.isArray(m) || Object.values(m).some(v => typeof v !== 'string')) throw new Error(`${source}: node_meta must be a map of strings`);
    Object.assign(cfg.nodeMeta, m);
  }
  if (typeof f.legacy_get_compat === 'boolean') cfg.legacyGetCompat = f.legacy_get_compat;
  applyHttpLimits(cfg, f, source);
  applyAclConfig(cfg.acl, f, source);
  const ports = f.ports as Record<string, number> | undefined;
  if (ports) for (const [key, , port] of PORTS) if (ports[key] !== undefined) cfg.ports[port] = ports[key];
  if (f.dns_config) applyDnsConfig(cfg.dns, f.dns_config as Record<string, unknown>, source);
  if (f.telemetry) applyTelemetry(cfg, f.telemetry as Record<string, unknown>, source);
  if (f.eureka) applyEureka(cfg.eureka, f.eureka as Record<string, unknown>, source);
  for (const k of ['service', 'services']) {
    const v = f[k];
    if (v && withServices) cfg.services.push(...(Array.isArray(v) ? v : [v]));
  }
}

/**
 * `tls { defaults { ca_file, cert_file, key_file, verify_incoming } }` (Consul 1.12+), `tls { https { ... } }`
 * over it, and the older top-level `ca_file`, `cert_file`, `key_file`, `verify_incoming` (`verify_incoming_https`).
 */
function applyTls(cfg: Config, f: Record<string, unknown>, source: string): void {
  const apply = (o: Record<string, unknown> | undefined, block: string) => {
    if (!o) return;
    if (typeof o !== 'object' || Array.isArray(o)) throw new Error(`${source}: ${block} must be an object`);
    for (const [k, field] of [['ca_file', 'caFile'], ['cert_file', 'certFile'], ['key_file', 'keyFile']] as const) {
      if (o[k] === undefined) continue;
      if (typeof o[k] !== 'string') throw new Error(`${source}: ${block}${k} must be a string`);
      cfg.tls[field] = o[k] as string;
    }
    for (const k of ['verify_incoming', 'verify_incoming_https']) {
      if (o[k] === undefined) continue;
      if (typeof o[k] !== 'boolean') throw new Error(`${source}: ${block}${k} must be a boolean`);
      cfg.tls.verifyIncoming = o[k] as boolean;
    }
  };
  apply(f, '');
  const t = f.tls as Record<string, unknown> | undefined;
  if (t) {
    apply(t.defaults as Record<string, unknown> | undefined, 'tls.defaults.');
    apply(t.https as Record<string, unknown> | undefined, 'tls.https.');
  }
}

/** `limits { http_max_conns_per_client, ... }` (Consul's block) and `http_config { max_header_bytes }`. */
function applyHttpLimits(cfg: Config, f: Record<string, unknown>, source: string): void {
  const int = (o: Record<string, unknown>, k: string, block: string): number => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${source}: ${block}.${k} must be a non-negative integer`);
    return v;
  };
  const l = f.limits as Record<string, unknown> | undefined;
  if (l) {
    if (l.http_max_conns_per_client !== undefined) cfg.http.maxConnsPerClient = int(l, 'http_max_conns_per_client', 'limits');
    if (l.http_max_blocking_queries_per_client !== undefined) cfg.http.maxBlockingPerClient = int(l, 'http_max_blocking_queries_per_client', 'limits');
    if (l.http_header_timeout !== undefined) cfg.http.headerTimeoutMs = ms(l.http_header_timeout);
    if (l.http_request_timeout !== undefined) cfg.http.requestTimeoutMs = ms(l.http_request_timeout);
  }
  const h = f.http_config as Record<string, unknown> | undefined;
  if (h?.max_header_bytes !== undefined) cfg.http.maxHeaderBytes = int(h, 'max_header_bytes', 'http_config');
  if (typeof h?.legacy_get_compat === 'boolean') cfg.legacyGetCompat = h.legacy_get_compat;
}

/** Keys of Consul's `telemetry` block that Roster accepts without acting on them (other sinks, filters). */
const TELEMETRY_IGNORED = new Set(['filter_default', 'prefix_filter', 'statsd_address', 'statsite_address', 'dogstatsd_addr', 'dogstatsd_tags',
  'circonus_api_token', 'circonus_api_app', 'circonus_api_url', 'circonus_submission_interval', 'circonus_submission_url', 'circonus_check_id',
  'circonus_check_force_metric_activation', 'circonus_check_instance_id', 'circonus_check_search_tag', 'circonus_check_display_name',
  'circonus_check_tags', 'circonus_broker_id', 'circonus_broker_select_tag', 'enable_host_metrics', 'disable_compat_1.9', 'retry_failed_connection']);

/** `telemetry { disable, metrics_prefix, prometheus_retention_time, disable_hostname, ... }`. */
function applyTelemetry(cfg: Config, t: Record<string, unknown>, source: string): void {
  for (const [k, v] of Object.entries(t)) {
    switch (k) {
      case 'disable':
      case 'disable_hostname':
        if (typeof v !== 'boolean') throw new Error(`${source}: telemetry.${k} must be true or false`);
        if (k === 'disable') cfg.telemetry.disable = v; else cfg.telemetry.disableHostname = v;
        break;
      case 'metrics_prefix':
        if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(v)) throw new Error(`${source}: telemetry.metrics_prefix must be a name`);
        cfg.telemetry.metricsPrefix = v;
        break;
      case 'prometheus_retention_time': {
        const n = ms(v);
        if (!Number.isFinite(n) || n < 0) throw new Error(`${source}: telemetry.prometheus_retention_time must be a duration`);
        cfg.telemetry.prometheusRetentionMs = n;
        break;
      }
      default:
        if (!TELEMETRY_IGNORED.has(k)) throw new Error(`${source}: unknown telemetry key "${k}"`);
    }
  }
}

function applyDnsConfig(d: DnsConfig, c: Record<string, unknown>, source: string): void {
  const b = (k: string) => c[k] as boolean | undefined;
  if (b('allow_stale') !== undefined) d.allowStale = b('allow_stale')!;
  if (c.max_stale !== undefined) d.maxStaleMs = ms(c.max_stale);
  if (c.node_ttl !== undefined) d.nodeTtlMs = ms(c.node_ttl);
  if (c.service_ttl !== undefined) {
    for (const [k, v] of Object.entries(c.service_ttl as Record<string, unknown>)) d.serviceTtlMs[k] = ms(v);
  }
  if (c.service_protection_threshold !== undefined) {
    for (const [k, v] of Object.entries(c.service_protection_threshold as Record<string, unknown>)) {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`${source}: dns_config.service_protection_threshold.${k} must be a number between 0 and 1`);
      d.serviceProtectionThreshold[k] = v;
    }
  }
  if (b('enable_truncate') !== undefined) d.enableTruncate = b('enable_truncate')!;
  if (b('answer_thread') !== undefined) d.answerThread = b('answer_thread')!;
  if (b('only_passing') !== undefined) d.onlyPassing = b('only_passing')!;
  if (c.recursor_strategy !== undefined) {
    if (c.recursor_strategy !== 'sequential' && c.recursor_strategy !== 'random') throw new Error(`${source}: dns_config.recursor_strategy must be "sequential" or "random"`);
    d.recursorStrategy = c.recursor_strategy;
  }
  if (c.recursor_timeout !== undefined) d.recursorTimeoutMs = ms(c.recursor_timeout);
  if (c.dc_cache_ttl !== undefined) d.dcCacheTtlMs = ms(c.dc_cache_ttl);
  if (b('disable_compression') !== undefined) d.disableCompression = b('disable_compression')!;
  if (typeof c.udp_answer_limit === 'number') d.udpAnswerLimit = c.udp_answer_limit;
  if (typeof c.a_record_limit === 'number') d.aRecordLimit = c.a_record_limit;
  if (b('enable_additional_node_meta_txt') !== undefined) d.enableAdditionalNodeMetaTxt = b('enable_additional_node_meta_txt')!;
  applyDnsLimits(d, c, source);
  const soa = c.soa as Record<string, number> | undefined;
  if (soa) {
    if (soa.refresh !== undefined) d.soa.refresh = soa.refresh;
    if (soa.retry !== undefined) d.soa.retry = soa.retry;
    if (soa.expire !== undefined) d.soa.expire = soa.expire;
    if (soa.min_ttl !== undefined) d.soa.minTtl = soa.min_ttl;
  }
}

/** eureka { ... } (issue 17): Eureka's server settings under snake_case names; unknown keys and bad values are errors. */
function applyEureka(e: EurekaConfig, c: Record<string, unknown>, source: string): void {
  // HCL gives a block as a list of objects; JSON as one object.
  const blocks = Array.isArray(c) ? c as Record<string, unknown>[] : [c];
  for (const blk of blocks) for (const [k, v] of Object.entries(blk)) {
    const bool = () => { if (typeof v !== 'boolean') throw new Error(`${source}: eureka.${k} must be a boolean`); return v; };
    const dur = () => { const n = ms(v); if (!(n > 0)) throw new Error(`${source}: eureka.${k} must be a positive duration`); return n; };
    switch (k) {
      case 'enabled': e.enabled = bool(); break;
      case 'enable_self_preservation': e.enableSelfPreservation = bool(); break;
      case 'renewal_percent_threshold':
        if (typeof v !== 'number' || !(v > 0 && v < 1)) throw new Error(`${source}: eureka.renewal_percent_threshold must be a number between 0 and 1`);
        e.renewalPercentThreshold = v; break;
      case 'expected_client_renewal_interval': e.expectedClientRenewalIntervalMs = dur(); break;
      case 'renewal_rate_window': e.renewalRateWindowMs = Math.max(1000, dur()); break;
      case 'eviction_interval': e.evictionIntervalMs = dur(); break;
      case 'delta_retention': e.deltaRetentionMs = dur(); break;
      case 'self_preservation_scope':
        if (v !== 'eureka' && v !== 'all') throw new Error(`${source}: eureka.self_preservation_scope must be "eureka" or "all"`);
        e.selfPreservationScope = v; break;
      default: throw new Error(`${source}: unknown eureka key "${k}"`);
    }
  }
}

/** Roster's own dns_config keys (issue 11): TCP deadlines and caps, forwarding cap, rate_limit { ... }. */
function applyDnsLimits(d: DnsConfig, c: Record<string, unknown>, source: string): void {
  const count = (v: unknown, key: string, min = 0): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`${source}: dns_config.${key} must be an integer >= ${min}`);
    return v;
  };
  if (c.tcp_read_timeout !== undefined) d.tcpReadTimeoutMs = ms(c.tcp_read_timeout);
  if (c.tcp_idle_timeout !== undefined) d.tcpIdleTimeoutMs = ms(c.tcp_idle_timeout);
  if (c.tcp_max_conns !== undefined) d.tcpMaxConns = count(c.tcp_max_conns, 'tcp_max_conns', 1);
  if (c.tcp_max_conns_per_client !== undefined) d.tcpMaxConnsPerClient = count(c.tcp_max_conns_per_client, 'tcp_max_conns_per_client', 1);
  if (c.recursor_max_in_flight !== undefined) d.recursorMaxInFlight = count(c.recursor_max_in_flight, 'recursor_max_in_flight', 1);
  const rl = c.rate_limit as Record<string, unknown> | undefined;
  if (rl === undefined) return;
  const r = d.rateLimit;
  for (const [k, v] of Object.entries(rl)) {
    switch (k) {
      case 'enabled':
        if (v !== true && v !== false && v !== 'auto') throw new Error(`${source}: dns_config.rate_limit.enabled must be true, false or "auto"`);
        r.enabled = v; break;
      case 'responses_per_second': r.responsesPerSecond = count(v, 'rate_limit.responses_per_second', 1); break;
      case 'slip': r.slip = count(v, 'rate_limit.slip'); break;
      case 'window': r.window = count(v, 'rate_limit.window', 1); break;
      case 'ipv4_prefix_length': r.ipv4PrefixLength = Math.min(32, count(v, 'rate_limit.ipv4_prefix_length')); break;
      case 'ipv6_prefix_length': r.ipv6PrefixLength = Math.min(128, count(v, 'rate_limit.ipv6_prefix_length')); break;
      case 'exempt_loopback':
        if (typeof v !== 'boolean') throw new Error(`${source}: dns_config.rate_limit.exempt_loopback must be a boolean`);
        r.exemptLoopback = v; break;
      case 'table_size': r.tableSize = count(v, 'rate_limit.table_size', 1); break;
      default: throw new Error(`${source}: unknown dns_config.rate_limit key "${k}"`);
    }
  }
}

/** Consul's limits on node meta (agent/structs ValidateNodeMetadata), applied at start-up. */
function validateNodeMeta(m: Record<string, string>): void {
  const keys = Object.keys(m);
  if (keys.length > 64) throw new Error('Failed to parse node metadata: Node metadata cannot contain more than 64 key/value pairs');
  for (const k of keys) {
    let why = '';
    if (k === '') why = 'Key cannot be blank';
    else if (!/^[a-zA-Z0-9_-]+$/.test(k)) why = 'Key contains invalid characters';
    else if (k.length > 128) why = 'Key is too long (limit: 128 characters)';
    else if (k.startsWith('consul-')) why = "Key prefix 'consul-' is reserved for internal use";
    else if (Buffer.byteLength(m[k]!) > 512) why = 'Value is too long (limit: 512 characters)';
    if (why) throw new Error(`Failed to parse node metadata: Couldn't load metadata pair ('${k}', '${m[k]}'): ${why}`);
  }
}

/** Reads a config file: JSON, or HCL when the name ends in `.hcl` (as Consul decides by extension). */
export function readConfigFile(path: string): Record<string, unknown> {
  const text = readFileSync(path, 'utf8');
  if (text.trim() === '') return {}; // an empty file is skipped, as Consul does
  const wrap = (err: unknown, what: string) => new Error(`Error parsing ${what}${(err as Error).message}`);
  if (path.endsWith('.hcl')) {
    try { return parseHcl(text, path); } catch (err) { throw wrap(err, ''); } // parseHcl's messages start with the path
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw wrap(err, `${path}: `);
  }
}

/** Builds the agent config from flags (already parsed against AGENT_FLAGS). */
export function loadAgentConfig(flags: FlagValues, env: NodeJS.ProcessEnv = process.env): Config {
  const cfg = defaultConfig();
  cfg.dev = flags.dev === true;
  for (const f of (flags['config-file'] as string[] | undefined) ?? []) applyFile(cfg, readConfigFile(f), f);
  for (const dir of (flags['config-dir'] as string[] | undefined) ?? []) {
    cfg.configDirs.push(dir);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`config dir ${dir} does not exist`);
    // Service definitions in a config dir are mirrored by a watching registrar (src/registrar), not read here.
    for (const name of readdirSync(dir).filter(n => n.endsWith('.json') || n.endsWith('.hcl')).sort()) applyFile(cfg, readConfigFile(join(dir, name)), join(dir, name), false);
  }
  // -hcl 'key = value': HCL fragments applied after the files, as in Consul.
  for (const frag of (flags.hcl as string[] | undefined) ?? []) {
    let f: Record<string, unknown>;
    try { f = parseHcl(frag, '-hcl'); } catch (err) { throw new Error(`Error parsing ${(err as Error).message}`); }
    applyFile(cfg, f, '-hcl');
  }
  const s = (k: string) => flags[k] as string | undefined;
  const n = (k: string) => flags[k] as number | undefined;
  for (const [, flag, set] of STRING_SETTINGS) if (s(flag)) set(cfg, s(flag)!);
  for (const [, flag, port] of PORTS) if (n(flag) !== undefined) cfg.ports[port] = n(flag)!;
  if (!cfg.redisUrl && env.ROSTER_REDIS_URL) cfg.redisUrl = env.ROSTER_REDIS_URL;
  // Secrets need not be on the command line (where `ps` shows them): files or the environment.
  cfg.redisUrl = redisUrlWithSecret(cfg.redisUrl, s('redis-password-file'), env);
  if (s('encrypt-file')) cfg.encrypt = readSecretFile(s('encrypt-file')!, 'gossip encryption key');
  else if (!cfg.encrypt && (env.CONSUL_ENCRYPT || env.ROSTER_ENCRYPT)) cfg.encrypt = (env.CONSUL_ENCRYPT || env.ROSTER_ENCRYPT)!;
  registerSecret(cfg.encrypt);
  for (const kv of (flags['node-meta'] as string[] | undefined) ?? []) {
    // Consul's parseMetaPair: "key:value", or "key" with an empty value.
    const i = kv.indexOf(':');
    cfg.nodeMeta[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? '' : kv.slice(i + 1);
  }
  validateNodeMeta(cfg.nodeMeta);
  if (flags.recursor) cfg.recursors = flags.recursor as string[];
  if (flags['zone-dir']) cfg.zoneDirs = flags['zone-dir'] as string[];
  if (flags.join) cfg.startJoin.push(...(flags.join as string[]));
  if (flags['retry-join']) cfg.retryJoin.push(...(flags['retry-join'] as string[]));
  if (s('retry-interval')) cfg.retryIntervalMs = ms(s('retry-interval'));
  // Newer Consul maps -join-wan onto retry_join_wan; Roster keeps the older "fail start-up if none joins".
  if (flags['join-wan']) cfg.startJoinWan.push(...(flags['join-wan'] as string[]));
  if (flags['retry-join-wan']) cfg.retryJoinWan.push(...(flags['retry-join-wan'] as string[]));
  if (s('retry-interval-wan')) cfg.retryIntervalWanMs = ms(s('retry-interval-wan'));
  if (n('checks-workers') !== undefined) cfg.checksWorkers = n('checks-workers')!;
  if (n('checks-concurrency') !== undefined) cfg.checksConcurrency = n('checks-concurrency')!;
  if (flags['legacy-get-compat'] !== undefined) cfg.legacyGetCompat = flags['legacy-get-compat'] as boolean;
  // Test knobs for the check reaper (Consul exposes these only in dev builds).
  if (env.ROSTER_CHECK_REAP_INTERVAL) cfg.checkReapIntervalMs = ms(env.ROSTER_CHECK_REAP_INTERVAL);
  if (env.ROSTER_CHECK_DEREGISTER_MIN) cfg.checkDeregisterMinMs = ms(env.ROSTER_CHECK_DEREGISTER_MIN);
  if (!['trace', 'debug', 'info', 'warn', 'error'].includes(cfg.logLevel)) throw new Error(`invalid -log-level "${cfg.logLevel}"`);
  if (flags['enable-script-checks'] !== undefined) cfg.enableScriptChecks = flags['enable-script-checks'] as boolean;
  if (flags['enable-local-script-checks'] !== undefined) cfg.enableLocalScriptChecks = flags['enable-local-script-checks'] as boolean;
  // -1 turns the HTTP, HTTPS or WAN listener off (Consul's rule); HTTPS needs a certificate and key.
  for (const [k, p] of Object.entries(cfg.ports)) if (!Number.isInteger(p) || p < ((k === 'http' || k === 'https' || k === 'serfWan') ? -1 : 0) || p > 65535) throw new Error(`invalid ${k} port ${p}`);
  if (cfg.ports.https >= 0 && (!cfg.tls.certFile || !cfg.tls.keyFile)) throw new Error('ports.https needs tls cert_file and key_file');
  if (cfg.tls.verifyIncoming && cfg.ports.https >= 0 && !cfg.tls.caFile) throw new Error('tls verify_incoming needs ca_file (the CA that signs client certificates)');
  if (cfg.ports.serfWan < 0 && (cfg.startJoinWan.length || cfg.retryJoinWan.length)) throw new Error('-join-wan / -retry-join-wan need the WAN pool, but -serf-wan-port is -1');
  // Defaults that depend on other settings.
  if (!cfg.nodeName) cfg.nodeName = env.HOSTNAME || (cfg.dev ? 'roster-dev' : 'roster');
  if (!cfg.bindAddr) cfg.bindAddr = cfg.dev ? '127.0.0.1' : '0.0.0.0';
  if (!cfg.advertiseAddr) cfg.advertiseAddr = cfg.bindAddr === '0.0.0.0' ? '127.0.0.1' : cfg.bindAddr;
  if (!cfg.dataDir) {
    if (!cfg.dev && !cfg.redisUrl) throw new Error('==> data_dir cannot be empty (use -dev, -data-dir or -redis)');
    cfg.dataDir = resolve('.data', cfg.nodeName);
  }
  if (cfg.zoneDirs.length === 0 && existsSync('zones') && statSync('zones').isDirectory()) cfg.zoneDirs = [resolve('zones')];
  if (!cfg.redisUrl && !cfg.dev) throw new Error('no Redis configured: pass -redis redis://host:port (or -dev to spawn an embedded redis-server)');
  return cfg;
}
