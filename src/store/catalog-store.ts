/**
 * @module The catalog in Redis: atomic writes through Lua, reads of whole nodes for the view.
 */
import { runSliced, type SliceOptions } from '../util/slices.ts';
import type { Redis } from 'ioredis';
import type { CheckRec, HealthStatus, NodeRec, NodeState, ServiceRec } from '../catalog/model.ts';
import type { Keys } from './keys.ts';
import { defineScript } from './script.ts';
import { checkBody, decodeCheck, decodeNode, decodeService, nodeBody, serviceBody, type CheckBody } from './codec.ts';

export interface CheckWrite {
  check: CheckBody;
  status: HealthStatus;
  output: string;
  /** Keep the stored status and output when the check already exists (re-registration). */
  keep: boolean;
  /** TTL of a TTL check in ms (arms the deadline for a new check), else 0. */
  ttlMs: number;
}

export interface RegisterRequest {
  nodeName: string;
  /** The node record to upsert, or null to require that the node exists. */
  node: Omit<NodeRec, 'CreateIndex' | 'ModifyIndex'> | null;
  services: Omit<ServiceRec, 'CreateIndex' | 'ModifyIndex'>[];
  checks: CheckWrite[];
  /** Remove this service's checks that are not in `checks`. */
  replaceChecksFor?: string;
}

/** Result of a write: the index it was written at (or the current index) and whether anything changed. */
export interface WriteResult { index: number; changed: boolean }

export type UpdateCheckResult = 'written' | 'unchanged' | 'deferred' | 'unknown' | 'not-ttl';

/** What one write changed on one node: f=1 → the node record itself (re-read whole); else these service/check IDs. */
export interface NodeDelta { n: string; f: 0 | 1; s: string[]; c: string[] }

/** A catalog change event as the scripts append it to the change stream (field `e`). */
export interface CatalogEvent { i: number; r: number; n: string[]; s: string[]; t: string; d?: NodeDelta[] }

/** Services and checks re-read by ID; null = the record no longer exists. */
export interface NodePatch { services: Map<string, ServiceRec | null>; checks: Map<string, CheckRec | null> }

export interface CatalogSnapshot {
  states: NodeState[];
  /** The index each node (lower-cased name) was read at; ≥ `index`. */
  readAt: Map<string, number>;
  /** The index the node list was read at. */
  index: number;
  crev: number;
  tables: Record<string, number>;
  serviceIndex: Record<string, number>;
}

type ScriptFn = (...args: (string | number)[]) => Promise<[number, number]>;

export class CatalogStore {
  readonly redis: Redis;
  readonly keys: Keys;
  #register: ScriptFn; #deregister: ScriptFn; #update: ScriptFn; #sweep: ScriptFn; #head: ScriptFn;

  constructor(redis: Redis, keys: Keys) {
    this.redis = redis;
    this.keys = keys;
    const common = [keys.index, keys.crev, keys.nodes, keys.tables, keys.serviceIndex, keys.stream, keys.ttl, keys.checkState, keys.outq];
    const def = (file: string) => defineScript(redis, file, common, { prefix: keys.prefix }) as ScriptFn;
    this.#register = def('register-9.lua');
    this.#deregister = def('deregister-9.lua');
    this.#update = def('updateCheck-9.lua');
    this.#sweep = def('sweep-9.lua');
    this.#head = def('loadHead-9.lua');
  }

  /** Upserts a node with services and checks in one atomic step. */
  async register(req: RegisterRequest): Promise<WriteResult> {
    const payload = {
      node: req.nodeName.toLowerCase(),
      nodeBody: req.node ? nodeBody(req.node) : null,
      services: req.services.map(s => ({ id: s.ID, name: s.Service, body: serviceBody(s) })),
      checks: req.checks.map(c => ({
        id: c.check.CheckID, serviceName: c.check.ServiceName, status: c.status, output: JSON.stringify(c.output),
        body: checkBody(c.check), keep: c.keep, ttlMs: c.ttlMs,
      })),
      replaceChecksFor: req.replaceChecksFor ?? null,
    };
    const [index, changed] = await this.#register(JSON.stringify(payload));
    return { index, changed: changed === 1 };
  }

  /** Removes a node (with everything on it), a service (with its checks) or a check. */
  async deregister(nodeName: string, kind: 'node' | 'service' | 'check', id = ''): Promise<{ index: number; found: boolean }> {
    const [index, found] = await this.#deregister(nodeName.toLowerCase(), kind, id);
    return { index, found: found === 1 };
  }

  /** Sets a check's status and output; with ttlMs > 0 it also re-arms a TTL check's deadline. */
  async updateCheck(nodeName: string, checkId: string, status: HealthStatus, output: string, opts: { ttlMs?: number; outputIntervalMs?: number } = {}): Promise<{ index: number; result: UpdateCheckResult }> {
    const [index, r] = await this.#update(nodeName.toLowerCase(), checkId, status, JSON.stringify(output), opts.ttlMs ?? 0, opts.outputIntervalMs ?? 0);
    const result: UpdateCheckResult = r === 1 ? 'written' : r === 0 ? 'unchanged' : r === 2 ? 'deferred' : r === -1 ? 'unknown' : 'not-ttl';
    return { index, result };
  }

  /** Expires due TTL checks and flushes due deferred outputs. */
  async sweep(max = 1000): Promise<WriteResult> {
    const [index, changed] = await this.#sweep(max);
    return { index, changed: changed === 1 };
  }

  /** The current global index (≥ 1). */
  async currentIndex(): Promise<number> {
    return Math.max(1, Number(await this.redis.get(this.keys.index)) || 0);
  }

  /** The index of the catalog's last change (KV and session writes share the counter but not this). */
  async catalogIndex(): Promise<number> {
    // Only the catalog's tables: KV and session writes record their own fields in the same hash.
    const vals = await this.redis.hmget(this.keys.tables, 'nodes', 'services', 'checks');
    return Math.max(0, ...vals.map(Number).filter(Number.isFinite));
  }

  /**
   * Where the change stream stands, atomically: the ID of its last entry ('0-0' when it is empty or
   * absent), the catalog revision (the `r` of that entry) and the epoch (absent = 0).
   */
  async streamHead(): Promise<{ id: string; crev: number; epoch: number }> {
    const res = await this.redis.multi().xrevrange(this.keys.stream, '+', '-', 'COUNT', 1).get(this.keys.crev).get(this.keys.epoch).exec();
    if (!res) throw new Error('transaction aborted');
    for (const [err] of res) if (err) throw err;
    const last = res[0]![1] as [string, string[]][];
    return { id: last[0]?.[0] ?? '0-0', crev: Number(res[1]![1]) || 0, epoch: Number(res[2]![1]) || 0 };
  }

  /** The catalog revision and the epoch: what the periodic safety net compares (two small values). */
  async revisionAndEpoch(): Promise<{ crev: number; epoch: number }> {
    const [crev, epoch] = await this.redis.mget(this.keys.crev, this.keys.epoch);
    return { crev: Number(crev) || 0, epoch: Number(epoch) || 0 };
  }

  /** Reads one node with its services and checks, atomically; null when the node does not exist. */
  async loadNode(nodeName: string): Promise<NodeState | null> {
    return (await this.readNode(nodeName)).state;
  }

  /** Like loadNode, with the global index the read was taken at (for merging into the view). */
  async readNode(nodeName: string): Promise<{ state: NodeState | null; at: number }> {
    const n = nodeName.toLowerCase();
    const res = await this.redis.multi().hget(this.keys.nodes, n).hgetall(this.keys.services(n)).hgetall(this.keys.checks(n)).get(this.keys.index).exec();
    if (!res) throw new Error('transaction aborted');
    for (const [err] of res) if (err) throw err;
    const nodeV = res[0]![1] as string | null;
    const at = Number(res[3]![1]) || 0;
    if (!nodeV) return { state: null, at };
    return { state: toState(nodeV, res[1]![1] as Record<string, string>, res[2]![1] as Record<string, string>), at };
  }

  /**
   * Reads some services and checks of a node in one transaction, with the index it was read at;
   * `gone` when the node itself no longer exists (at that index).
   */
  async loadPartial(nodeName: string, serviceIds: string[], checkIds: string[]): Promise<(NodePatch & { at: number; gone: false }) | { at: number; gone: true }> {
    const n = nodeName.toLowerCase();
    const m = this.redis.multi().hexists(this.keys.nodes, n).get(this.keys.index);
    if (serviceIds.length) m.hmget(this.keys.services(n), ...serviceIds);
    if (checkIds.length) m.hmget(this.keys.checks(n), ...checkIds);
    const res = await m.exec();
    if (!res) throw new Error('transaction aborted');
    for (const [err] of res) if (err) throw err;
    const at = Number(res[1]![1]) || 0;
    if (Number(res[0]![1]) !== 1) return { at, gone: true };
    let k = 2;
    const services = new Map<string, ServiceRec | null>();
    if (serviceIds.length) {
      const vals = res[k++]![1] as (string | null)[];
      serviceIds.forEach((id, i) => services.set(id, vals[i] ? decodeService(vals[i]!) : null));
    }
    const checks = new Map<string, CheckRec | null>();
    if (checkIds.length) {
      const vals = res[k++]![1] as (string | null)[];
      checkIds.forEach((id, i) => checks.set(id, vals[i] ? decodeCheck(vals[i]!) : null));
    }
    return { services, checks, at, gone: false };
  }

  /**
   * Reads the whole catalog (initial load and resync): the node list and indexes in one transaction
   * (reported to `onHead` as soon as they arrive), then the nodes in small batches, LOAD_IN_FLIGHT of
   * them in flight at once. Each reply is decoded in time-bounded slices (src/util/slices.ts), so that
   * reading a big catalog never holds the event loop (a DNS answer) for longer than about one slice:
   * small replies keep the parse of each one short, and several in flight keep the read fast.
   * With `onBatch`, each batch of decoded nodes is handed on (and awaited) as it arrives, with the index
   * it was read at, instead of being collected into `states` (left empty, as is `readAt`): a reload that
   * merges as it reads never holds the whole snapshot, so the records it finds unchanged die young
   * (a scavenge) instead of filling the old generation for a major GC to mark and sweep.
   */
  async loadAll(onHead?: (index: number, crev: number, tables: Record<string, number>, serviceIndex: Record<string, number>) => void, slices?: SliceOptions,
    onBatch?: (states: NodeState[], at: number) => void | Promise<void>): Promise<CatalogSnapshot> {
    const k = this.keys;
    // The node names only (each node's record is read again with its services and checks), the indexes and the
    // revision, atomically (loadHead-9.lua), as JSON parts decoded one per slice: no reply of 20,000 elements in one piece.
    const [metaJson, nodeParts, svcParts] = await this.#head() as unknown as [string, string[], string[]];
    const meta = JSON.parse(metaJson) as { i: string; r: string; t: string[] | object };
    const flat = (l: unknown): string[] => (Array.isArray(l) ? l : []); // cjson writes an empty list as {}
    const pairs = (l: string[], into: [string, number][]) => { for (let i = 0; i + 1 < l.length; i += 2) into.push([l[i]!, Number(l[i + 1])]); };
    const tablePairs: [string, number][] = [];
    pairs(flat(meta.t), tablePairs);
    const names: string[] = [];
    const svcPairs: [string, number][] = [];
    await runSliced(nodeParts.length + svcParts.length, (a, b) => {
      for (let j = a; j < b; j++) {
        if (j < nodeParts.length) for (const n of flat(JSON.parse(nodeParts[j]!))) names.push(n);
        else pairs(flat(JSON.parse(svcParts[j - nodeParts.length]!)), svcPairs);
      }
    }, { step: 1, ...slices });
    const tables = Object.fromEntries(tablePairs);
    const serviceIndex = Object.fromEntries(svcPairs);
    const index = Number(meta.i) || 0;
    const crev = Number(meta.r) || 0;
    onHead?.(index, crev, tables, serviceIndex);
    const states: NodeState[] = [];
    const readAt = new Map<string, number>();
    // Each node is read atomically with its services and checks, and each batch with the index it was
    // read at (later batches see later writes; the view merges by index).
    const read = (batch: string[]) => {
      const m = this.redis.multi().get(k.index);
      for (const n of batch) m.hget(k.nodes, n).hgetall(k.services(n)).hgetall(k.checks(n));
      return m.exec();
    };
    const queue: { batch: string[]; reply: ReturnType<typeof read> }[] = [];
    let next = 0;
    const fill = () => {
      while (queue.length < LOAD_IN_FLIGHT && next < names.length) {
        const batch = names.slice(next, next + LOAD_BATCH);
        next += LOAD_BATCH;
        const reply = read(batch);
        reply.catch(() => undefined); // awaited in order below; a failure there fails the load
        queue.push({ batch, reply });
      }
    };
    fill();
    while (queue.length) {
      const { batch, reply } = queue.shift()!;
      const res = await reply;
      fill();
      if (!res) throw new Error('transaction aborted');
      for (const [err] of res) if (err) throw err;
      const at = Number(res[0]![1]) || 0;
      const into: NodeState[] = onBatch ? [] : states;
      await runSliced(batch.length, (a, b) => {
        for (let j = a; j < b; j++) {
          const nodeV = res[1 + j * 3]![1] as string | null;
          if (!onBatch) readAt.set(batch[j]!.toLowerCase(), at); // the view looks nodes up by lower-cased name
          if (nodeV) into.push(toState(nodeV, res[2 + j * 3]![1] as Record<string, string>, res[3 + j * 3]![1] as Record<string, string>));
        }
      }, { step: 8, ...slices });
      if (onBatch) await onBatch(into, at);
    }
    return { states, readAt, index, crev, tables, serviceIndex };
  }
}

/** Nodes per read of a full load: a reply of ~100–200 KB parses in about a millisecond. */
const LOAD_BATCH = 64;
/**
 * Batch reads of a full load in flight at once: the next is asked for as soon as a reply arrives, before it is
 * decoded. More in flight land together in one poll of the socket and are parsed in one go (4 in flight: up to
 * 60–78 ms of main-thread CPU without a timer turn at 100,000 instances; 1: 11–13 ms; bench/store/changelog.ts).
 */
const LOAD_IN_FLIGHT = 1;

function toState(nodeV: string, svcs: Record<string, string>, chks: Record<string, string>): NodeState {
  const services = new Map<string, ServiceRec>();
  for (const [id, v] of Object.entries(svcs ?? {})) services.set(id, decodeService(v));
  const checks = new Map<string, CheckRec>();
  for (const [id, v] of Object.entries(chks ?? {})) checks.set(id, decodeCheck(v));
  return { node: decodeNode(nodeV), services, checks };
}
