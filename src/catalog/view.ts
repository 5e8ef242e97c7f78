/**
 * @module The in-memory view of the catalog that the DNS path reads.
 *
 * It is fed whole NodeState objects (a node with its services and checks) by the syncer, which
 * reads Redis; nothing here does I/O, so every read is synchronous. A query never waits on Redis:
 * while Redis is unreachable the view simply stays as it was last seen.
 *
 * Invariants: the view never goes back in time — every read is merged by the indexes it carries
 * (src/catalog/merge.ts), so a snapshot read before a change the view already holds cannot undo it;
 * `instances(name)` reflects every merge so far; and each change emits exactly one 'change' event
 * naming the services and nodes it touched, so that caches of encoded answers can be invalidated
 * precisely.
 */
import type { Freshness } from './freshness.ts';
import { EventEmitter } from 'node:events';
import type { Instance, NodeState, CheckRec, ServiceRec } from './model.ts';
import { mergeNode, mergeRecord, newTombs, pruneTombs, type NodeTombs } from './merge.ts';

const NO_INSTANCES: readonly Instance[] = Object.freeze([]);

/** What a change touched: lower-cased service names and node names; `all` for a full reload. */
export interface ViewChange {
  all: boolean;
  services: Set<string>;
  nodes: Set<string>;
}

export interface CatalogViewEvents {
  change: [ViewChange];
}

export class CatalogView extends EventEmitter<CatalogViewEvents> {
  /** Node states by lower-cased node name. */
  #nodes = new Map<string, NodeState>();
  /** lower service name -> (node\0serviceID -> Instance). */
  #services = new Map<string, Map<string, Instance>>();
  /** Sorted instance arrays, built on demand, dropped on change. */
  #instCache = new Map<string, Instance[]>();
  /** Per node (as #nodes): service ID ('' = node checks) → its checks, so a patch rebuilds only what it touched. */
  #checksBy = new Map<string, Map<string, Map<string, CheckRec>>>();
  /** The highest catalog index this view has applied (blocking indexes; the SOA serial is the clock). */
  appliedIndex = 0;
  /** Wall-clock ms of the last successful sync with Redis. */
  lastSync = 0;
  #freshness: () => Freshness = () => ({ lastContactMs: 0, knownLeader: true });
  /** How old the view is (X-Consul-LastContact), as its syncer reports it (src/catalog/freshness.ts). */
  freshness(): Freshness { return this.#freshness(); }
  /** Last index per table (nodes, services, checks), for X-Consul-Index of catalog reads. */
  tableIndex: Record<string, number> = {};
  /** Last index per lower-cased service name (instances, their nodes and checks). */
  serviceIndex = new Map<string, number>();

  /** The syncer's narrow interface (this and below): its view's age comes from `fn`. */
  setFreshness(fn: () => Freshness): void { this.#freshness = fn; }
  /** Redis answered the syncer: the view is current as of `now` (X-Consul-LastContact). */
  markContact(now = Date.now()): void { this.lastSync = now; }
  /** Raises (never lowers) table, service and applied indexes, before the change that bumped them is applied. */
  raiseIndexes(tables: Record<string, number>, services: Record<string, number> = {}, applied = 0): void {
    for (const [t, i] of Object.entries(tables)) if ((this.tableIndex[t] ?? 0) < i) this.tableIndex[t] = i;
    for (const [n, i] of Object.entries(services)) if ((this.serviceIndex.get(n) ?? 0) < i) this.serviceIndex.set(n, i);
    if (applied > this.appliedIndex) this.appliedIndex = applied;
  }
  /** An authoritative reset's indexes: the snapshot's, replacing what the view had. */
  resetIndexes(tables: Record<string, number>, services: Record<string, number>): void { this.tableIndex = { ...tables }; this.serviceIndex = new Map(Object.entries(services)); }
  /** Records seen gone, by lower-cased node name (see merge.ts); pruned one snapshot later. */
  #tombs = new Map<string, NodeTombs>();
  #scratch = newTombs();
  #pruneUpTo = 0;
  /** An authoritative reset being built beside the view (beginReset → commitReset): its indexes, its change, the puts made meanwhile. */
  #stage: { nodes: Map<string, NodeState>; services: Map<string, Map<string, Instance>>; checksBy: Map<string, Map<string, Map<string, CheckRec>>>; change: ViewChange; puts: [string, NodeState | null, number][]; oldNodes: Iterator<string>; oldServices: Iterator<string> } | null = null;

  /**
   * Merges a snapshot of the whole catalog (initial load and resync). `revision` is the index the
   * node list was read at; `readAt` gives the index each node's records were read at (default
   * `revision`). Nodes and records the view holds from later reads are kept.
   */
  replaceAll(states: Iterable<NodeState>, revision: number, readAt?: ReadonlyMap<string, number>): void {
    this.appliedIndex = Math.max(this.appliedIndex, revision);
    if (this.#nodes.size === 0 && this.#tombs.size === 0) {
      this.#services = new Map();
      this.#checksBy = new Map();
      this.#instCache.clear();
      for (const st of states) this.#index(st);
      this.emit('change', { all: true, services: new Set(), nodes: new Set(this.#nodes.keys()) });
      return;
    }
    const seen = new Set<string>();
    this.mergeSlice(states, revision, readAt, seen);
    this.finishSlices(seen, revision);
  }

  /**
   * Merges one slice of a snapshot as replaceAll does (a reload applies a big catalog in slices across
   * event-loop turns, so a DNS answer never waits for the whole of it); `seen` collects the nodes merged.
   * Each node is merged whole and by index, so a view between two slices is as valid as after both.
   */
  mergeSlice(states: Iterable<NodeState>, revision: number, readAt: ReadonlyMap<string, number> | undefined, seen: Set<string>): void {
    this.appliedIndex = Math.max(this.appliedIndex, revision);
    // A reload usually finds little new: unchanged nodes keep their objects and the change names only what
    // differs, so caches built from the view (encoded DNS answers, blocking queries) keep what is still true.
    const change: ViewChange = { all: false, services: new Set(), nodes: new Set() };
    for (const st of states) {
      const key = st.node.Node.toLowerCase();
      seen.add(key);
      this.#mergeInto(key, st, readAt?.get(key) ?? revision, change);
    }
    if (change.nodes.size) this.emit('change', change);
  }

  /** Ends a snapshot merged in slices: nodes it lacked are merged as absent at `revision`; old tombstones pruned. */
  finishSlices(seen: ReadonlySet<string>, revision: number): void {
    this.dropUnseen(this.nodeKeys(), seen, revision, Infinity);
    this.pruneAfterSlices(revision);
  }

  /** The view's node keys, live (a Map iterator: nodes added or removed meanwhile are followed), for dropUnseen. */
  nodeKeys(): Iterator<string> { return this.#nodes.keys(); }

  /** finishSlices' first part, in slices: merges as absent at `revision` up to `max` of `keys` not `seen`; true once `keys` is exhausted. */
  dropUnseen(keys: Iterator<string>, seen: ReadonlySet<string>, revision: number, max: number): boolean {
    const change: ViewChange = { all: false, services: new Set(), nodes: new Set() };
    let done = false;
    for (let n = 0; n < max; n++) {
      const k = keys.next();
      if (k.done) { done = true; break; }
      if (!seen.has(k.value)) this.#mergeInto(k.value, null, revision, change);
    }
    if (change.nodes.size) this.emit('change', change);
    return done;
  }

  /** The last part of finishSlices: tombstones older than the previous snapshot are pruned. */
  pruneAfterSlices(revision: number): void {
    if (revision > 0) { pruneTombs(this.#tombs, this.#pruneUpTo); this.#pruneUpTo = revision; }
  }

  /** Nodes in the view. */
  get nodeCount(): number { return this.#nodes.size; }

  /**
   * Replaces the whole view authoritatively (after the catalog's epoch changed: a snapshot restore
   * replaced Redis's catalog behind the view's back, so its records may carry indexes older than the
   * view's and an index merge would keep the view's). Tombstones are cleared; every service and node
   * that was or is in the view is reported changed, and their indexes move to `revision` (never back),
   * so blocking queries on them return. At once: beginReset + stageStates + commitReset.
   */
  resetAll(states: Iterable<NodeState>, revision: number): void {
    this.beginReset();
    this.stageStates(states);
    this.commitReset(revision);
  }

  /**
   * Starts an authoritative reset built beside the serving view (stageStates, in as many slices as the
   * caller likes), swapped in by commitReset. Meanwhile reads see the old view, putNode applies to it
   * and is kept to be applied again after the swap, and patchNode returns null (the caller reads the
   * node whole and calls putNode), so that no change arriving during the reset is lost.
   */
  beginReset(): void {
    this.#stage = { nodes: new Map(), services: new Map(), checksBy: new Map(), change: { all: true, services: new Set(), nodes: new Set() }, puts: [], oldNodes: this.#nodes.keys(), oldServices: this.#services.keys() };
  }

  /** Drops a reset being built (its snapshot could not be read); the serving view, updated meanwhile, stays. */
  abortReset(): void {
    this.#stage = null;
  }

  /** True between beginReset and commitReset. */
  get resetting(): boolean { return this.#stage !== null; }

  /** Indexes states into the reset being built (not visible to reads until commitReset). */
  stageStates(states: Iterable<NodeState>): void {
    const g = this.#stage;
    if (!g) throw new Error('stageStates without beginReset');
    for (const st of states) {
      const key = st.node.Node.toLowerCase();
      this.#index(st, g.nodes, g.services, g.checksBy);
      g.change.nodes.add(key);
      for (const svc of st.services.values()) g.change.services.add(svc.Service.toLowerCase());
      // The old view's names join the change as the new one is built, so that the swap has little left to do.
      for (let i = 0; i < 2; i++) { const o = g.oldNodes.next(); if (!o.done) g.change.nodes.add(o.value); }
      const o = g.oldServices.next(); if (!o.done) g.change.services.add(o.value);
    }
  }

  /**
   * Swaps the staged reset in (O(1) apart from the nodes put meanwhile, which are merged again into
   * it by index) and emits one change naming every node and service that was or is in the view.
   */
  commitReset(revision: number): ViewChange {
    const g = this.#stage;
    if (!g) throw new Error('commitReset without beginReset');
    this.#stage = null;
    const change = g.change;
    for (let o = g.oldNodes.next(); !o.done; o = g.oldNodes.next()) change.nodes.add(o.value);
    for (let o = g.oldServices.next(); !o.done; o = g.oldServices.next()) change.services.add(o.value);
    this.#nodes = g.nodes;
    this.#services = g.services;
    this.#checksBy = g.checksBy;
    this.#instCache.clear();
    this.#tombs.clear();
    this.#scratch = newTombs();
    this.#pruneUpTo = revision;
    for (const t of ['nodes', 'services', 'checks']) this.tableIndex[t] = Math.max(this.tableIndex[t] ?? 0, revision);
    for (const s of change.services) if ((this.serviceIndex.get(s) ?? 0) < revision) this.serviceIndex.set(s, revision);
    if (revision > this.appliedIndex) this.appliedIndex = revision;
    for (const [key, state, at] of g.puts) {
      const cur = this.#nodes.get(key);
      const tombs = this.#tombs.get(key) ?? this.#scratch;
      const merged = mergeNode(cur, state, at, tombs);
      this.#keepTombs(key, tombs);
      change.nodes.add(key);
      const touched = new Set<string>();
      if (merged !== cur) this.#replaceNode(key, merged, touched);
      for (const s of touched) { change.services.add(s); if (at > 0 && (this.serviceIndex.get(s) ?? 0) < at) this.serviceIndex.set(s, at); }
      if (at > this.appliedIndex) this.appliedIndex = at;
    }
    this.emit('change', change);
    return change;
  }

  /** A merge wrote into the shared scratch tombstones: they become this node's. */
  #keepTombs(key: string, tombs: NodeTombs): void {
    if (tombs === this.#scratch && (tombs.node || tombs.svc.size || tombs.chk.size)) { this.#tombs.set(key, tombs); this.#scratch = newTombs(); }
  }

  /** Merges one node as read at `at` into the view; adds to `change` what that altered. */
  #mergeInto(key: string, incoming: NodeState | null, at: number, change: ViewChange): void {
    const cur = this.#nodes.get(key);
    const tombs = this.#tombs.get(key) ?? this.#scratch;
    const merged = mergeNode(cur, incoming, at, tombs);
    this.#keepTombs(key, tombs);
    if (merged === cur || (!merged && !cur)) return;
    const before = change.nodes.size;
    diffNode(cur, merged ?? undefined, change, key);
    if (change.nodes.size !== before) this.#replaceNode(key, merged, new Set());
  }

  /**
   * Merges one node's state as read at index `revision` (null: the node did not exist; 0: replace
   * unconditionally). Returns the change it caused, which is also emitted.
   */
  putNode(name: string, state: NodeState | null, revision = 0): ViewChange {
    const key = name.toLowerCase();
    const change: ViewChange = { all: false, services: new Set(), nodes: new Set([key]) };
    this.#stage?.puts.push([key, state, revision]);
    const cur = this.#nodes.get(key);
    const tombs = this.#tombs.get(key) ?? this.#scratch;
    const merged = mergeNode(cur, state, revision, tombs);
    this.#keepTombs(key, tombs);
    if (merged !== cur) this.#replaceNode(key, merged, change.services);
    this.#applied(change, revision);
    return change;
  }

  /** Swaps one node's state in the indexes; adds every service it had or has to `services`. */
  #replaceNode(key: string, state: NodeState | null, services: Set<string>): void {
    const prev = this.#nodes.get(key);
    if (prev) {
      for (const svc of prev.services.values()) {
        const lname = svc.Service.toLowerCase();
        services.add(lname);
        const m = this.#services.get(lname);
        if (m) {
          m.delete(instKey(prev.node.Node, svc.ID));
          if (m.size === 0) this.#services.delete(lname);
        }
      }
      this.#nodes.delete(key);
      this.#checksBy.delete(key);
    }
    if (state) {
      for (const svc of state.services.values()) services.add(svc.Service.toLowerCase());
      this.#index(state);
    }
    for (const s of services) this.#instCache.delete(s);
  }

  /** Records the index a change was applied at (per service, so blocking queries never see a new index with old data), then emits. */
  #applied(change: ViewChange, revision: number): void {
    if (revision > 0) for (const s of change.services) if ((this.serviceIndex.get(s) ?? 0) < revision) this.serviceIndex.set(s, revision);
    if (revision > this.appliedIndex) this.appliedIndex = revision;
    this.emit('change', change);
  }

  #index(st: NodeState, nodes = this.#nodes, services = this.#services, checksBy = this.#checksBy): void {
    const key = st.node.Node.toLowerCase();
    nodes.set(key, st);
    const by = new Map<string, Map<string, CheckRec>>();
    for (const c of st.checks.values()) {
      let m = by.get(c.ServiceID);
      if (!m) by.set(c.ServiceID, (m = new Map()));
      m.set(c.CheckID, c);
    }
    checksBy.set(key, by);
    const nodeChecks = [...(by.get('')?.values() ?? [])];
    for (const svc of st.services.values()) this.#setInstance(st, svc, by, nodeChecks, services);
  }

  #setInstance(st: NodeState, svc: ServiceRec, by: Map<string, Map<string, CheckRec>>, nodeChecks: CheckRec[], services = this.#services): string {
    const lname = svc.Service.toLowerCase();
    let m = services.get(lname);
    if (!m) services.set(lname, (m = new Map()));
    m.set(instKey(st.node.Node, svc.ID), { node: st.node, service: svc, checks: [...(by.get(svc.ID)?.values() ?? []), ...nodeChecks] });
    this.#instCache.delete(lname);
    return lname;
  }

  #dropInstance(st: NodeState, svc: ServiceRec): string {
    const lname = svc.Service.toLowerCase();
    const m = this.#services.get(lname);
    if (m) {
      m.delete(instKey(st.node.Node, svc.ID));
      if (m.size === 0) this.#services.delete(lname);
    }
    this.#instCache.delete(lname);
    return lname;
  }

  /**
   * Applies changed services and checks (null = removed) to a node already in the view, rebuilding
   * only the instances they touch (every instance on the node when a node check changed).
   * Returns null when the node is not in the view (the caller loads it whole).
   */
  patchNode(name: string, services: Map<string, ServiceRec | null>, checks: Map<string, CheckRec | null>, revision = 0): ViewChange | null {
    const key = name.toLowerCase();
    const st = this.#nodes.get(key);
    if (!st || this.#stage) return null; // during a reset the caller reads the node whole (putNode is kept for the swap)
    const tombs = this.#tombs.get(key) ?? this.#scratch;
    services = effective(st.services, services, revision, tombs.svc);
    checks = effective(st.checks, checks, revision, tombs.chk);
    this.#keepTombs(key, tombs);
    const by = this.#checksBy.get(key)!;
    const change: ViewChange = { all: false, services: new Set(), nodes: new Set([key]) };
    const rebuild = new Set<string>();
    let nodeLevel = false;
    for (const [id, rec] of checks) {
      const old = st.checks.get(id);
      if (old) {
        by.get(old.ServiceID)?.delete(id);
        if (old.ServiceID) rebuild.add(old.ServiceID); else nodeLevel = true;
      }
      if (rec) {
        st.checks.set(id, rec);
        let m = by.get(rec.ServiceID);
        if (!m) by.set(rec.ServiceID, (m = new Map()));
        m.set(id, rec);
        if (rec.ServiceID) rebuild.add(rec.ServiceID); else nodeLevel = true;
      } else st.checks.delete(id);
    }
    for (const [id, rec] of services) {
      const old = st.services.get(id);
      if (old) change.services.add(this.#dropInstance(st, old));
      if (rec) { st.services.set(id, rec); rebuild.add(id); } else st.services.delete(id);
    }
    const nodeChecks = [...(by.get('')?.values() ?? [])];
    for (const id of nodeLevel ? st.services.keys() : rebuild) {
      const svc = st.services.get(id);
      if (svc) change.services.add(this.#setInstance(st, svc, by, nodeChecks));
    }
    this.#applied(change, revision);
    return change;
  }

  /** All instances of a service (any health), sorted by node then service ID, as Consul orders them. */
  instances(serviceName: string): readonly Instance[] {
    const lname = serviceName.toLowerCase();
    let arr = this.#instCache.get(lname);
    if (!arr) {
      const m = this.#services.get(lname);
      if (!m) return NO_INSTANCES; // not memoized: random names asked for must not grow the view (issue 11)
      arr = [...m.values()].sort(byNodeThenID);
      this.#instCache.set(lname, arr);
    }
    return arr;
  }

  /** Memoized instance lists (one per existing service asked for); for tests and stats. */
  get memoizedLists(): number { return this.#instCache.size; }

  /** A node's state, by case-insensitive name. */
  node(name: string): NodeState | undefined {
    return this.#nodes.get(name.toLowerCase());
  }

  /** Every node state (insertion order). */
  nodes(): IterableIterator<NodeState> {
    return this.#nodes.values();
  }

  /** Lower-cased names of every service with at least one instance. */
  serviceNames(): IterableIterator<string> {
    return this.#services.keys();
  }
}

/** The part of a partial read (records by ID, null = gone) that moves the view forward. */
function effective<R extends ServiceRec | CheckRec>(cur: Map<string, R>, incoming: Map<string, R | null>, at: number, tombs: Map<string, number>): Map<string, R | null> {
  const out = new Map<string, R | null>();
  for (const [id, rec] of incoming) {
    const old = cur.get(id);
    const m = mergeRecord(old, rec, at, id, tombs);
    if (m !== (old ?? null)) out.set(id, m);
  }
  return out;
}

function instKey(node: string, id: string): string {
  return `${node.toLowerCase()}\0${id}`;
}

function byNodeThenID(a: Instance, b: Instance): number {
  return a.node.Node < b.node.Node ? -1 : a.node.Node > b.node.Node ? 1 : a.service.ID < b.service.ID ? -1 : a.service.ID > b.service.ID ? 1 : 0;
}

const sameRec = (a: { CreateIndex: number; ModifyIndex: number }, b: { CreateIndex: number; ModifyIndex: number }): boolean =>
  a.CreateIndex === b.CreateIndex && a.ModifyIndex === b.ModifyIndex;

/** Adds to `change` what differs between two states of one node (records compared by their Raft-style indexes). */
function diffNode(a: NodeState | undefined, b: NodeState | undefined, change: ViewChange, key: string): void {
  const allServices = (st: NodeState | undefined): void => { if (st) for (const s of st.services.values()) change.services.add(s.Service.toLowerCase()); };
  if (!a || !b || !sameRec(a.node, b.node) || a.node.Address !== b.node.Address) {
    change.nodes.add(key);
    allServices(a);
    allServices(b);
    return;
  }
  let touched = false;
  for (const [id, s] of b.services) {
    const o = a.services.get(id);
    if (!o || !sameRec(o, s)) { touched = true; change.services.add(s.Service.toLowerCase()); if (o) change.services.add(o.Service.toLowerCase()); }
  }
  for (const [id, o] of a.services) if (!b.services.has(id)) { touched = true; change.services.add(o.Service.toLowerCase()); }
  const serviceOf = (st: NodeState, sid: string): string | undefined => st.services.get(sid)?.Service.toLowerCase();
  for (const [id, c] of b.checks) {
    const o = a.checks.get(id);
    if (o && sameRec(o, c) && o.ServiceID === c.ServiceID) continue;
    touched = true;
    if (!c.ServiceID || (o && !o.ServiceID)) { allServices(a); allServices(b); } // a node check: every instance's health
    else { const n = serviceOf(b, c.ServiceID) ?? serviceOf(a, c.ServiceID); if (n) change.services.add(n); }
  }
  for (const [id, o] of a.checks) {
    if (b.checks.has(id)) continue;
    touched = true;
    if (!o.ServiceID) { allServices(a); allServices(b); } else { const n = serviceOf(a, o.ServiceID); if (n) change.services.add(n); }
  }
  if (touched) change.nodes.add(key);
}
