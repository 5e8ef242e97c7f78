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
  /**
   * string: the catalog's epoch (absent = 0). Anything that replaces the catalog wholesale behind the
   * agents' backs (a snapshot restore) INCRs it in the same atomic step; an agent whose view was
   * loaded under another epoch reloads authoritatively (CatalogView.resetAll).
   */
  epoch: string;
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
  /** zset: `<node>\0<checkID>` → when a deferred output-only check update is due (ms). */
  outq: string;
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
  // --- KV / sessions / events (src/store/kv-*.ts, session-*.ts) ---
  /** hash: deleted KV key → index of its deletion (kvTombs is then the lexicographic zset of tombstoned keys, score 0). */
  kvTombIndex: string;
  /** pub/sub channel for KV, session and user-event changes: JSON {i, k?: [keys], s?: 1, e?: 1}. */
  kvEvents: string;
  /** set per session: the KV keys it holds. */
  sessionLocks(id: string): string;
  /** set per lower-cased node: the sessions on that node. */
  sessionsByNode(nodeLower: string): string;
  /** hash: user event ID → 1 (dedupe of events arriving through several agents). */
  userEventIds: string;
  /** string: Lamport-style counter stamped on user events fired through the API. */
  userEventLTime: string;
  // --- end KV / sessions / events ---
}

/** Builds the key names of one datacenter under a namespace (default `roster`). */
export function keysFor(dc: string, namespace = 'roster'): Keys {
  const p = `${namespace}:{${dc}}`;
  return {
    prefix: p,
    index: `${p}:index`,
    crev: `${p}:crev`,
    epoch: `${p}:epoch`,
    nodes: `${p}:nodes`,
    services: n => `${p}:svc:${n}`,
    checks: n => `${p}:chk:${n}`,
    tables: `${p}:tables`,
    serviceIndex: `${p}:svcidx`,
    ttl: `${p}:ttl`,
    checkState: `${p}:chkstate`,
    outq: `${p}:outq`,
    events: `${p}:events`,
    kv: `${p}:kv`,
    kvKeys: `${p}:kvkeys`,
    kvTombs: `${p}:kvtombs`,
    sessions: `${p}:sess`,
    sessionExpiry: `${p}:sessexp`,
    lockDelay: `${p}:lockdelay`,
    userEvents: `${p}:uevents`,
    bullPrefix: `${namespace}:{${dc}}:bull`,
    // --- KV / sessions / events ---
    kvTombIndex: `${p}:kvtombidx`,
    kvEvents: `${p}:kvevents`,
    sessionLocks: id => `${p}:slocks:${id}`,
    sessionsByNode: n => `${p}:snode:${n}`,
    userEventIds: `${p}:ueventids`,
    userEventLTime: `${p}:ueventltime`,
    // --- end KV / sessions / events ---
  };
}
