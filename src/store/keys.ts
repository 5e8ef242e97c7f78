/**
 * @module The only place Redis key names are built.
 *
 * Every key of a datacenter shares the hash tag `{<dc>}`, so that the catalog's multi-key Lua
 * scripts stay atomic on one Redis (and map to one slot on Redis Cluster).
 */

/** Entries the catalog change stream keeps (approximately: MAXLEN ~ trims whole macro-nodes). */
export const STREAM_MAXLEN = 100_000;

/**
 * Entries the hints stream keeps (approximately). An agent that falls further behind than this wakes every
 * KV/session/event watcher and reloads its ACL policies instead (src/store/hint-log.ts): cheap either way.
 */
export const HINTS_MAXLEN = 10_000;

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
  /** zset: `<node>\0<checkID>` → when a deferred output-only check update is due (ms). */
  outq: string;
  /** pub/sub channel for catalog change events (no longer published; kept for old tools). */
  events: string;
  /** stream: the catalog change log, one entry per change (field `e` = the event JSON), MAXLEN ~ 100k. */
  stream: string;
  /**
   * string: bumped (INCR) by whatever replaces the catalog wholesale (snapshot restore), in the same atomic
   * step; absent = 0. Agents reload authoritatively when it differs from their view's: at once when the
   * step also appends a stream entry with a field `epoch` = the new value, else at their next revision check.
   */
  epoch: string;
  /** KV: hash key → entry, zset of keys (lexicographic), zset of tombstones key → delete index. */
  kv: string;
  kvKeys: string;
  kvTombs: string;
  /** sessions: hash id → session, zset id → expiry deadline (ms). */
  sessions: string;
  sessionExpiry: string;
  /** Redis time (ms) of the last session sweep: a longer gap means an outage, and TTL timers restart (scripts/sessionSweep-14.lua). */
  sessionSweptAt: string;
  /** KV lock-delay: hash key → deadline (ms). */
  lockDelay: string;
  /** user events: list of the newest 256. */
  userEvents: string;
  /** string with a TTL: the gossip reconciler's lease (holder = node name; src/agent/gossip.ts). */
  reconciler: string;
  /** BullMQ prefix for the check queue (hash-tagged per datacenter). */
  bullPrefix: string;
  // --- KV / sessions / events (src/store/kv-*.ts, session-*.ts) ---
  /** hash: deleted KV key → index of its deletion (kvTombs is then the lexicographic zset of tombstoned keys, score 0). */
  kvTombIndex: string;
  /**
   * stream: change hints, one entry per KV, session, user-event or ACL change, appended by the changing script
   * (MAXLEN ~ HINTS_MAXLEN). Fields: `r` (1, 2, 3... without a hole: a gap or a step back means entries were
   * lost), then `kv` (JSON {i, k?: [keys], s?: 1, e?: 1, a?: 1}) or `acl` (the new ACL revision).
   * Read by every agent's src/store/hint-log.ts. (It replaced the pub/sub channels `kvevents` and `acl:events`.)
   */
  hints: string;
  /** set per session: the KV keys it holds. */
  sessionLocks(id: string): string;
  /** set per lower-cased node: the sessions on that node. */
  sessionsByNode(nodeLower: string): string;
  /** hash: user event ID → 1 (dedupe of events arriving through several agents). */
  userEventIds: string;
  /** string: Lamport-style counter stamped on user events fired through the API. */
  userEventLTime: string;
  // --- end KV / sessions / events ---
  // --- Eureka (src/eureka) ---
  /** zset: `<node>\0<instanceId>` → lease deadline (ms, Redis clock). */
  eurekaLeases: string;
  /** hash: `<node>\0<instanceId>` → lease duration (ms). */
  eurekaLeaseDur: string;
  /** hash: second (Redis clock, s) → renewals counted in it, across agents (self-preservation). */
  eurekaRenews: string;
  /** string: the agent that runs eviction (a lease, PX). */
  eurekaEvictor: string;
  // --- end Eureka ---
  /** Prepared queries: hash id → `createIndex\nmodifyIndex\nnameKey\njson`; hash nameKey (`n:<lower name>`) → id; string: index of the last write. */
  queries: string;
  queryNames: string;
  queriesRev: string;
  // --- ACL (src/store/acl-store.ts): secrets only as HMAC-SHA256 digests ---
  /** hash: AccessorID → `C\nM\n<secret digest>\n<token JSON without SecretID>`. */
  aclTokens: string;
  /** hash: hex HMAC-SHA256(aclHmacKey, SecretID) → AccessorID (lookup by secret without storing it). */
  aclSecrets: string;
  /** string: the datacenter's random HMAC key (hex), created once with SET NX. */
  aclHmacKey: string;
  /** hash: policy ID → `C\nM\n<lower-cased name>\n<policy JSON>`; aclPolicyNames: lower-cased name → ID. */
  aclPolicies: string;
  aclPolicyNames: string;
  /** hash: role ID → `C\nM\n<lower-cased name>\n<role JSON>`; aclRoleNames: lower-cased name → ID. */
  aclRoles: string;
  aclRoleNames: string;
  /** string: index of the last bootstrap (Consul's reset index); absent = not bootstrapped. */
  aclBootstrap: string;
  /** string: ACL revision, +1 per ACL change; a `hints` entry carries it (agents drop cached tokens). */
  aclRev: string;
  // --- end ACL ---
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
    outq: `${p}:outq`,
    events: `${p}:events`,
    stream: `${p}:changes`,
    reconciler: `${p}:reconciler`,
    epoch: `${p}:epoch`,
    kv: `${p}:kv`,
    kvKeys: `${p}:kvkeys`,
    kvTombs: `${p}:kvtombs`,
    sessions: `${p}:sess`,
    sessionExpiry: `${p}:sessexp`,
    sessionSweptAt: `${p}:sesssweep`,
    lockDelay: `${p}:lockdelay`,
    userEvents: `${p}:uevents`,
    bullPrefix: `${namespace}:{${dc}}:bull`,
    // --- KV / sessions / events ---
    kvTombIndex: `${p}:kvtombidx`,
    hints: `${p}:hints`,
    sessionLocks: id => `${p}:slocks:${id}`,
    sessionsByNode: n => `${p}:snode:${n}`,
    userEventIds: `${p}:ueventids`,
    userEventLTime: `${p}:ueventltime`,
    // --- end KV / sessions / events ---
    eurekaLeases: `${p}:eureka:leases`,
    eurekaLeaseDur: `${p}:eureka:leasedur`,
    eurekaRenews: `${p}:eureka:renews`,
    eurekaEvictor: `${p}:eureka:evictor`,
    queries: `${p}:pq`,
    queryNames: `${p}:pqnames`,
    queriesRev: `${p}:pqrev`,
    aclTokens: `${p}:acl:tokens`,
    aclSecrets: `${p}:acl:secrets`,
    aclHmacKey: `${p}:acl:hmackey`,
    aclPolicies: `${p}:acl:policies`,
    aclPolicyNames: `${p}:acl:policynames`,
    aclRoles: `${p}:acl:roles`,
    aclRoleNames: `${p}:acl:rolenames`,
    aclBootstrap: `${p}:acl:bootstrap`,
    aclRev: `${p}:acl:rev`,
  };
}
