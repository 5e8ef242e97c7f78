/**
 * @module The only place Redis key names are built.
 *
 * Every key of a datacenter shares the hash tag `{<dc>}`, so that the catalog's multi-key Lua
 * scripts stay atomic on one Redis (and map to one slot on Redis Cluster).
 */

export interface Keys {
  /** The key prefix scripts build per-node keys from: `<prefix>:{<dc>}`. */
  prefix: string;
  /** string: the global, monotonic modify index (Consul's Raft index). */
  index: string;
  /** string: catalog revision, +1 per catalog change event (gap detection for subscribers). */
  crev: string;
  /** hash: lower-cased node name → node record. */
  nodes: string;
  /** hash per node: service ID → service record. */
  services(nodeLower: string): string;
  /** hash per node: check ID → check record. */
  checks(nodeLower: string): string;
  /** hash: table name (nodes, services, checks, kv, sessions) → last index that touched it. */
  tables: string;
  /** hash: lower-cased service name → last index that touched any instance of it. */
  serviceIndex: string;
  /** zset: `<node>\0<checkID>` → TTL deadline (ms, Redis clock). */
  ttl: string;
  /** hash: `<node>\0<checkID>` → check runner state (threshold counters, pending output). */
  checkState: string;
  /** pub/sub channel for catalog change events. */
  events: string;
  /** KV: hash key → entry, zset of keys (lexicographic), zset of tombstones key → delete index. */
  kv: string;
  kvKeys: string;
  kvTombs: string;
  /** sessions: hash id → session, zset id → expiry deadline (ms). */
  sessions: string;
  sessionExpiry: string;
  /** KV lock-delay: hash key → deadline (ms). */
  lockDelay: string;
  /** user events: list of the newest 256. */
  userEvents: string;
  /** BullMQ prefix for the check queue (hash-tagged per datacenter). */
  bullPrefix: string;
}

/** Builds the key names of one datacenter under a namespace (default `roster`). */
export function keysFor(dc: string, namespace = 'roster'): Keys {
  const p = `${namespace}:{${dc}}`;
  return {
    prefix: p,
    index: `${p}:index`,
    crev: `${p}:crev`,
    nodes: `${p}:nodes`,
    services: n => `${p}:svc:${n}`,
    checks: n => `${p}:chk:${n}`,
    tables: `${p}:tables`,
    serviceIndex: `${p}:svcidx`,
    ttl: `${p}:ttl`,
    checkState: `${p}:chkstate`,
    events: `${p}:events`,
    kv: `${p}:kv`,
    kvKeys: `${p}:kvkeys`,
    kvTombs: `${p}:kvtombs`,
    sessions: `${p}:sess`,
    sessionExpiry: `${p}:sessexp`,
    lockDelay: `${p}:lockdelay`,
    userEvents: `${p}:uevents`,
    bullPrefix: `${namespace}:{${dc}}:bull`,
  };
}
