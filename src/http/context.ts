/**
 * @module What every route module gets, and the cross-cutting rules of Consul's read endpoints:
 * consistency modes, the datacenter check, meta headers, Redis availability.
 */
import type { Redis } from 'ioredis';
import type { RedisConnector } from '../store/connect.ts';
import { NotDurableError, type DurableAcks } from '../store/durable.ts';
import type { CatalogView } from '../catalog/view.ts';
import type { Freshness } from '../catalog/freshness.ts';
import type { CatalogSyncer } from '../catalog/syncer.ts';
import type { CatalogStore, RegisterRequest, WriteResult } from '../store/catalog-store.ts';
import type { Config } from '../config/schema.ts';
import type { DcDirectory } from '../catalog/datacenters.ts';
import type { Notifier } from './blocking.ts';
import type { KvServices } from '../kv/services.ts';
import type { Rendered } from './render-cache.ts';
import { HttpError, type Ctx, type Reply } from './server.ts';
import { requireLocalDc } from './dc-rule.ts';
import { parseDurationNs } from '../util/duration.ts';
import type { AclResolver } from '../acl/resolver.ts';
import type { AgentTokens, RequestIdentity } from './acl.ts';
import { logger } from '../log.ts';

const log = logger('agent');

/** The agent's parts, as the HTTP routes see them. */
export interface ApiDeps {
  config: Config;
  store: CatalogStore;
  redis: Redis;
  /** Creates this process's other Redis connections (subscribers), with the same URL and rules. */
  connector: RedisConnector;
  /** Durable acknowledgements: WAIT for `redis_min_replicas_acked` replicas after each write. */
  acks?: DurableAcks;
  view: CatalogView;
  syncer: CatalogSyncer;
  notifier: Notifier;
  /** The KV, session and user-event stores (src/kv/services.ts). */
  kv: KvServices;
  /** This agent's node name, as registered. */
  nodeName: string;
  nodeId: string;
  /** Hooks other subsystems register (gossip members, join/leave, events, checks engine). */
  hooks: AgentHooks;
  /** ACLs (src/acl, src/http/acl.ts); absent when `acl.enabled` is false. */
  acl?: AclDeps;
}

/** What the ACL routes need: the resolver (store + caches) and the agent's own tokens. */
export interface AclDeps {
  resolver: AclResolver;
  tokens: AgentTokens;
  /** Resolves the request's token (403 `ACL not found`) for routes that are `public` to the guard. */
  identify(ctx: Ctx): Promise<RequestIdentity>;
  /** Called after PUT /v1/agent/token/*: persists the tokens when enable_token_persistence is set. */
  tokensChanged(): void;
}

/** Optional subsystems plug in here; routes answer sensibly when a hook is absent. */
export interface AgentHooks {
  members?: (wan: boolean) => unknown[];
  /** Joins the LAN pool, or with `wan` the WAN pool (500 `Must be a server to join WAN cluster` without one). */
  join?: (addr: string, wan: boolean) => Promise<number>;
  /** Other datacenters, from the WAN pool (absent when it is off): `?dc=` forwarding, /v1/catalog/datacenters. */
  dcs?: DcDirectory;
  leave?: () => Promise<void>;
  /** Moves a failed member to left (`prune`: forgets it); `wan`: in the WAN pool only (`<node>.<dc>`). */
  forceLeave?: (node: string, prune: boolean, wan?: boolean) => Promise<void>;
  fireEvent?: (name: string, payload: Buffer, filters: { node: string; service: string; tag: string }) => Promise<unknown>;
  /** The agent's local state (src/agent/local-state.ts): agent writes keep it, anti-entropy syncs it. */
  local?: LocalStateHook;
  /** Sends a Serf query and collects acks and responses until its timeout. */
  query?: (name: string, payload: Buffer, opts: { nodes: string[]; tags: Record<string, string>; timeoutMs: number; ack: boolean }) => Promise<{ acks: string[]; responses: { from: string; payload: Uint8Array }[] }>;
  /** Gauges the agent's parts report (check lateness, ...), read by /v1/agent/metrics. */
  gauges?: () => Gauge[];
  /** Re-reads the configuration files and applies what can change live (PUT /v1/agent/reload, SIGHUP). */
  reload?: () => Promise<void>;
  /** Eureka's self-preservation state (src/eureka), reported in /v1/agent/self under Stats.eureka. */
  eureka?: () => { selfPreservation: boolean; leases: number; renewsThreshold: number; renewsLastMin: number; evicted: number };
}

/** One gauge of /v1/agent/metrics (Consul's JSON shape). */
export interface Gauge { Name: string; Value: number; Labels: Record<string, string> }

/** What agent write routes tell the local state; `sync` runs anti-entropy now. */
export interface LocalStateHook {
  adopt(req: RegisterRequest): void;
  track(ids: { services?: string[]; checks?: string[] }): void;
  forget(kind: 'service' | 'check', id: string): void;
  forgetChecksOf(serviceId: string, keep: string[]): void;
  sync(): Promise<void>;
}

/**
 * A register on this agent's node: when the node is gone from the catalog (deleted through
 * /v1/catalog/deregister), anti-entropy registers it again and the write is retried once, so
 * agent writes never answer `Missing node registration`. The local state adopts the records first
 * (so anti-entropy never writes older ones back meanwhile), and their stored form after.
 */
export async function agentRegister(deps: ApiDeps, req: RegisterRequest): Promise<WriteResult> {
  deps.hooks.local?.adopt(req);
  let res: WriteResult;
  try {
    res = await deps.store.register(req);
  } catch (err) {
    if (!deps.hooks.local || !(err as Error).message.includes('Missing node registration')) throw err;
    await deps.hooks.local.sync();
    res = await deps.store.register(req);
  }
  await afterWrite(deps, res.index, res.changed);
  deps.hooks.local?.track({ services: req.services.map(s => s.ID), checks: req.checks.map(c => c.check.CheckID) });
  for (const s of req.services) log.info('Synced service', { service: s.ID });
  for (const c of req.checks) log.info('Synced check', { check: c.check.CheckID });
  return res;
}

export type Consistency = 'leader' | 'stale' | 'consistent';

/**
 * Validates ?stale/?consistent/?max_stale and ?dc; with ?consistent, waits until the view holds everything Redis has.
 * `?max_stale=D` (D > 0) allows a stale read as Consul does, but only while the view heard from Redis within D: an
 * older view is read as ?consistent is (Consul re-runs the read on the leader), a 500 while Redis is unreachable.
 * `discovery_max_stale` applies the same to catalog and health reads that name no mode (`?leader` names one).
 */
export async function readMode(ctx: Ctx, deps: ApiDeps): Promise<Consistency> {
  checkDc(ctx, deps);
  let stale = ctx.has('stale');
  const consistent = ctx.has('consistent');
  let maxStaleMs = 0;
  const ms = ctx.query.get('max_stale');
  if (ms) {
    try { maxStaleMs = parseDurationNs(ms) / 1e6; } catch { throw new HttpError(400, `Invalid max_stale value ${goQuote(ms)}`); }
    if (maxStaleMs > 0) stale = true;
  } else if (!stale && !consistent && !ctx.has('leader') && deps.config.discoveryMaxStaleMs > 0 && /^\/v1\/(catalog|health)\//.test(ctx.path)) {
    maxStaleMs = deps.config.discoveryMaxStaleMs;
    stale = true;
  }
  if (stale && consistent) throw new HttpError(400, 'Cannot specify ?stale with ?consistent, conflicting semantics.');
  if (stale && maxStaleMs > 0 && deps.view.freshness().lastContactMs > maxStaleMs) return consistentRead(deps);
  if (!stale) requireRedis(deps);
  if (consistent) return consistentRead(deps);
  return stale ? 'stale' : 'leader';
}

/** A read that waits until the view holds the catalog's last change in Redis (a 500 while Redis is unreachable). */
async function consistentRead(deps: ApiDeps): Promise<Consistency> {
  requireRedis(deps);
  // The catalog's last change, not the global index: a KV write bumps that without a catalog event.
  await deps.syncer.waitFor(await deps.store.catalogIndex(), 5000);
  return 'consistent';
}

/** Go's %q of a string: double-quoted with backslash escapes. */
const goQuote = (s: string): string => JSON.stringify(s);

/** 500 `No path to datacenter` for any datacenter but ours (`datacenter` wins over `dc`). */
export function checkDc(ctx: Ctx, deps: ApiDeps): void {
  requireLocalDc(deps, ctx.query);
  for (const k of ['ns', 'partition']) {
    const v = ctx.query.get(k);
    if (v && v !== 'default') throw new HttpError(400, `Invalid query parameter: "${k}" - ${k === 'ns' ? 'Namespaces' : 'Partitions'} are a Consul Enterprise feature`);
  }
}

/**
 * Whether this request may register a script check: `enable_script_checks`, or
 * `enable_local_script_checks` and a client on a loopback address (config files reach the agent
 * through its own loopback API).
 */
export function scriptsAllowed(ctx: Ctx, deps: Pick<ApiDeps, 'config'>): boolean {
  if (deps.config.enableScriptChecks) return true;
  if (!deps.config.enableLocalScriptChecks) return false;
  const a = ctx.req.socket.remoteAddress ?? '';
  return a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');
}

/** Throws a clear 500 while Redis, the system of record, is unreachable. */
export function requireRedis(deps: ApiDeps): void {
  if (deps.redis.status !== 'ready') {
    throw new HttpError(500, `catalog store unavailable: Redis is unreachable (connection ${deps.redis.status}); DNS keeps answering from the last view, retry when Redis is back`);
  }
}

/**
 * Meta headers of catalog, health, KV and session reads. `fresh` is the view's age (CatalogView.freshness)
 * for reads served from the view: default and `?stale` reads report it as X-Consul-LastContact and
 * X-Consul-KnownLeader (false once Redis was not heard from for redis_timeout). `?consistent` reads
 * waited for Redis's index, and reads without `fresh` read Redis itself: 0 and true, as Consul's leader.
 */
export function metaHeaders(index: number, mode: Consistency | null, fresh?: Freshness): Record<string, string> {
  const f = mode !== 'consistent' && fresh ? fresh : { lastContactMs: 0, knownLeader: true };
  const h: Record<string, string> = {
    'X-Consul-Index': String(Math.max(1, index)),
    'X-Consul-KnownLeader': String(f.knownLeader),
    'X-Consul-LastContact': String(Math.round(f.lastContactMs)),
  };
  if (mode) h['X-Consul-Effective-Consistency'] = mode;
  return h;
}

/** A shared rendered body (sharedBlocking) as a reply: the same headers, in the same order, as a JSON body of the same value. */
export function renderedReply(r: Rendered, mode: Consistency | null, fresh?: Freshness, cached = false): Reply {
  const headers: Record<string, string> = { ...metaHeaders(r.index, mode, fresh), 'Content-Type': 'application/json' };
  // `?cached` (Consul's agent cache): HIT when the answer came from the rendered-response cache, with its age in seconds.
  if (cached) {
    headers['X-Cache'] = r.cached ? 'HIT' : 'MISS';
    if (r.cached) headers.Age = String(Math.max(0, Math.floor((Date.now() - (r.renderedAt ?? Date.now())) / 1000)));
  }
  return { body: r.body, headers };
}

/** After a write at `index`, wait until the view shows it, so the next read sees the write. */
export async function afterWrite(deps: ApiDeps, index: number, changed: boolean): Promise<void> {
  await durable(deps);
  if (changed) await deps.syncer.waitFor(index, 2000);
}

/** Go's strconv.ParseBool. */
export function parseBool(v: string | null): boolean | null {
  if (v === null) return null;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return null;
}

/**
 * Before a write is acknowledged: waits until `redis_min_replicas_acked` replicas hold it (WAIT);
 * 500 with the write's fate when they do not confirm in time (src/store/durable.ts).
 */
export async function durable(deps: Pick<ApiDeps, 'acks'>): Promise<void> {
  try {
    await deps.acks?.confirm();
  } catch (err) {
    if (err instanceof NotDurableError) throw new HttpError(500, err.message);
    throw err;
  }
}
