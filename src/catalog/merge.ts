/**
 * @module How a read from Redis is merged into what the view already holds, so the view never goes
 * back in time.
 *
 * Every read (a whole-catalog snapshot, one node, or some records of a node) is tagged with the
 * global index it was read at. Reads race: a snapshot's batch may be read before a change that the
 * view has already applied from a later read, and arrive after it. So nothing is installed blindly:
 *  - a record is replaced only by one at least as new: a later incarnation (greater CreateIndex), or
 *    the same incarnation with a ModifyIndex that is not smaller (every write bumps ModifyIndex, so
 *    equal indexes mean an identical record);
 *  - a record the read lacks is dropped only if it existed when the read was taken
 *    (CreateIndex ≤ read index); one created later is kept;
 *  - a record the view dropped leaves a tombstone at the index it was seen gone; an older read that
 *    still carries that incarnation (CreateIndex ≤ tombstone) does not bring it back.
 * A read index of 0 means "authoritative": the incoming state replaces the view's (tools, tests).
 */
import type { CheckRec, NodeRec, NodeState, ServiceRec } from './model.ts';

interface Indexed { CreateIndex: number; ModifyIndex: number }

/** Where a node's records were last seen gone: the node itself, and services and checks by ID. */
export interface NodeTombs { node: number; svc: Map<string, number>; chk: Map<string, number> }

export const newTombs = (): NodeTombs => ({ node: 0, svc: new Map(), chk: new Map() });

/** True when `a` is strictly newer than `b` (a later incarnation, or a later write to the same one). */
export function newer(a: Indexed, b: Indexed): boolean {
  return a.CreateIndex > b.CreateIndex || (a.CreateIndex === b.CreateIndex && a.ModifyIndex > b.ModifyIndex);
}

/** The read index as a bound: 0 (authoritative) reads as +∞. */
const bound = (at: number): number => (at > 0 ? at : Number.POSITIVE_INFINITY);

/**
 * One record as a read at `at` saw it (null: absent), merged with the view's `cur`.
 * Returns the record the view should hold (null: none), updating `tombs` for drops and re-creations.
 */
export function mergeRecord<R extends Indexed>(cur: R | undefined, incoming: R | null, at: number, id: string, tombs: Map<string, number> | undefined): R | null {
  if (!incoming) {
    if (!cur) return null;
    if (cur.CreateIndex > bound(at)) return cur; // created after the read was taken
    if (tombs && at > 0) tombs.set(id, Math.max(tombs.get(id) ?? 0, at));
    return null;
  }
  if (cur) return newer(cur, incoming) ? cur : incoming;
  const gone = tombs?.get(id) ?? 0;
  if (at > 0 && gone >= incoming.CreateIndex) return null; // the incarnation the view already saw deleted
  if (gone) tombs!.delete(id);
  return incoming;
}

function mergeMap<R extends Indexed>(cur: Map<string, R>, incoming: Map<string, R>, at: number, tombs: Map<string, number> | undefined): Map<string, R> {
  const out = new Map<string, R>();
  for (const [id, rec] of incoming) {
    const m = mergeRecord(cur.get(id), rec, at, id, tombs);
    if (m) out.set(id, m);
  }
  for (const [id, rec] of cur) {
    if (incoming.has(id)) continue;
    const m = mergeRecord(rec, null, at, id, tombs);
    if (m) out.set(id, m);
  }
  return out;
}

/**
 * A whole node as a read at `at` saw it (null: the node did not exist), merged with the view's `cur`.
 * Returns the state the view should hold (null: no node); `cur` itself when the view is already newer.
 */
export function mergeNode(cur: NodeState | undefined, incoming: NodeState | null, at: number, tombs: NodeTombs): NodeState | null {
  if (at <= 0) {
    if (!incoming) { tombs.svc.clear(); tombs.chk.clear(); }
    return incoming;
  }
  if (!incoming) {
    if (!cur) return null;
    if (cur.node.CreateIndex > at) return cur; // registered after the read was taken
    tombs.node = Math.max(tombs.node, at);
    tombs.svc.clear();
    tombs.chk.clear();
    return null;
  }
  if (!cur) {
    if (tombs.node >= incoming.node.CreateIndex) return null; // the incarnation the view already saw deleted
    return withoutTombstoned(incoming, tombs);
  }
  if (cur.node.CreateIndex > incoming.node.CreateIndex) return cur; // the view holds a later incarnation
  if (incoming.node.CreateIndex > cur.node.CreateIndex) { tombs.svc.clear(); tombs.chk.clear(); return incoming; }
  const node: NodeRec = newer(cur.node, incoming.node) ? cur.node : incoming.node;
  return {
    node,
    services: mergeMap<ServiceRec>(cur.services, incoming.services, at, tombs.svc),
    checks: mergeMap<CheckRec>(cur.checks, incoming.checks, at, tombs.chk),
  };
}

function withoutTombstoned(st: NodeState, tombs: NodeTombs): NodeState {
  if (tombs.svc.size === 0 && tombs.chk.size === 0) return st;
  const keep = <R extends Indexed>(m: Map<string, R>, t: Map<string, number>) =>
    new Map([...m].filter(([id, r]) => mergeRecord(undefined, r, 1, id, t) !== null));
  return { node: st.node, services: keep(st.services, tombs.svc), checks: keep(st.checks, tombs.chk) };
}

/** Drops tombstones at or below `upTo`: no read still in flight can be older than that. */
export function pruneTombs(all: Map<string, NodeTombs>, upTo: number): void {
  for (const [key, t] of all) {
    if (t.node <= upTo) t.node = 0;
    for (const [id, i] of t.svc) if (i <= upTo) t.svc.delete(id);
    for (const [id, i] of t.chk) if (i <= upTo) t.chk.delete(id);
    if (t.node === 0 && t.svc.size === 0 && t.chk.size === 0) all.delete(key);
  }
}
