/**
 * @module Keeps a CatalogView in step with Redis.
 *
 * Every catalog write appends its change event to a Redis Stream in the same Lua script (catalog-common.lua);
 * the syncer reads that log from its last position (src/store/change-log.ts), also after a reconnect or a failover,
 * re-reads the nodes each event names (NODE_READS_IN_FLIGHT at once) and merges them into the view. It
 * reloads the whole catalog only when the log no longer follows on from what the view holds:
 *  - an entry's revision skips one (`r` runs 1, 2, 3... in the log): the entries in between were
 *    trimmed (MAXLEN) while this agent was away → reload, merged by index;
 *  - an entry's revision is not above the last one read, or Redis's revision is below it: the log
 *    was recreated (a flushed Redis, a replica that lost the tail) → authoritative reload (resetAll);
 *  - the epoch (`<prefix>:epoch`, bumped by a snapshot restore) differs from the one the view was
 *    loaded under → authoritative reload (resetAll), as the epoch rule says.
 * The periodic safety net compares the revision and the epoch (two small values), not the catalog.
 * While Redis is down the view keeps its last state.
 *
 * Ordering rules (reads race with each other; see src/catalog/merge.ts for how the view merges):
 *  - every read carries the index it was taken at, and the view never moves backwards (except by an
 *    authoritative reload);
 *  - a reload first fixes the log position (last entry ID and revision, atomically), then reads the
 *    catalog: everything up to that position is in the snapshot, everything after it is read from
 *    the log (entries the snapshot also covers are applied again, harmlessly: merges are by index);
 *  - `waitFor(i)` resolves once every event up to index i has been applied (a watermark), not when
 *    some later event happened to be applied first.
 */
import type { Redis } from 'ioredis';
import { EventEmitter } from 'node:events';
import type { CatalogView } from './view.ts';
import type { NodeState } from './model.ts';
import type { CatalogEvent, CatalogStore, NodeDelta } from '../store/catalog-store.ts';
import { ChangeLogReader, type ChangeEntry } from '../store/change-log.ts';
import { withDeadline } from '../util/deadline.ts';
import { runSliced, runSteps, type SliceOptions, nextTurn } from '../util/slices.ts';
import { freshness, type Freshness } from './freshness.ts';
import { logger } from '../log.ts';
import { M } from '../util/metrics/index.ts';

const log = logger('agent.catalog');

/** Log entries applied per event-loop turn. */
const ENTRIES_PER_TURN = 32;
const NODE_READS_IN_FLIGHT = 8; // node re-reads at once: replies arriving together are applied in one turn

/** Work per event-loop turn (ms) when a reload is applied to a view that is serving (src/util/slices.ts). */
const SLICE_BUDGET_MS = 2;

/** Reloads of at most this many nodes are applied at once. */
const SMALL_RELOAD = 200;

export interface SyncerEvents {
  /** After the view applied a change event (or a resync): the catalog index now reflected. */
  applied: [index: number];
}

/** One change event until every node it names has been re-read. */
interface Token { index: number; left: number }

export interface SyncerOptions {
  /** How often the safety net compares Redis's revision and epoch with the view's (ms). */
  resyncIntervalMs?: number;
  /** Deadline of the syncer's own Redis reads (redis_timeout). */
  redisTimeoutMs?: number;
  /** How long one change-log read blocks on Redis (ms). */
  blockMs?: number;
  /** How a reload applied to a serving view is sliced (src/util/slices.ts): default ~2 ms per event-loop turn. Tests inject turns. */
  slices?: SliceOptions;
  /** The change-log reader's own connection (role 'blocking' of src/store/connect.ts); default: a duplicate of the store's. */
  logConnection?: Redis;
}

export class CatalogSyncer extends EventEmitter<SyncerEvents> {
  #store: CatalogStore;
  #view: CatalogView;
  #reader: ChangeLogReader;
  /** The highest catalog revision the view covers (a reload's, or the last entry read). */
  #crev = 0;
  /** The revision of the last log entry read (or of the log position a reload fixed); -1: none yet. */
  #lastR = -1;
  /** The epoch the view was loaded under. */
  #epoch = 0;
  /** The log no longer follows on from the view: entries are ignored until a reload fixes a new position. */
  #stalled = false;
  /** Log positions fixed by reloads so far. */
  #seeks = 0;
  /** The next reload must be authoritative (resetAll). */
  #resetNext = false;
  /** Redis's revision as the safety net last saw it, while the reader was behind it, and where the reader was then. */
  #behind = 0;
  #behindAt = -1;
  /** Full reloads done (applied to the view; start included), for tests and benchmarks. */
  reloads = 0;
  /** Events not yet applied, in arrival (= index) order; `#watermark`: every event up to it is applied. */
  #open: Token[] = [];
  #openHead = 0;
  #watermark = 0;
  #timer?: NodeJS.Timeout;
  #retry?: NodeJS.Timeout;
  #resyncing: Promise<void> | null = null;
  #resyncAgain = false;
  /** While an authoritative reset is being built: table indexes set and the highest event applied meanwhile. */
  #staged: { tables: Record<string, number>; max: number } | null = null;
  #pending = new Map<string, { full: boolean; s: Set<string>; c: Set<string>; index: number; tables: string; tokens: Token[] }>();
  #inflight = new Set<string>();
  #waiting = new Set<string>(); // nodes with pending deltas waiting for a read slot, oldest first
  #closed = false;
  #intervalMs: number;
  #timeoutMs: number;
  #slices: SliceOptions;

  constructor(store: CatalogStore, view: CatalogView, opts: SyncerOptions = {}) {
    super();
    this.#store = store;
    this.#view = view;
    this.#intervalMs = opts.resyncIntervalMs ?? 30_000;
    this.#timeoutMs = opts.redisTimeoutMs ?? 5_000;
    this.#slices = { budgetMs: SLICE_BUDGET_MS, ...opts.slices };
    this.#reader = new ChangeLogReader(store.redis, store.keys.stream, {
      blockMs: opts.blockMs ?? 5_000, deadlineMs: this.#timeoutMs,
      onEntries: e => this.#onEntries(e),
      onContact: () => { if (!this.#stalled && !this.#resyncing) this.#view.markContact(); },
      onReconnect: () => void this.#check('change log reader reconnected'),
      conn: opts.logConnection,
    });
    view.setFreshness(() => this.freshness());
  }

  /** How old the view is now: X-Consul-LastContact and X-Consul-KnownLeader of reads served from it. */
  freshness(now = Date.now()): Freshness {
    return freshness({
      now, lastContact: this.#view.lastSync, readingSince: this.#reader.readingSince, blockMs: this.#reader.blockMs,
      following: !this.#stalled && !this.#resyncing && this.#lastR >= 0, timeoutMs: this.#timeoutMs,
    });
  }

  /** The change-log reader (stats for tests and benchmarks). */
  get reader(): ChangeLogReader { return this.#reader; }

  /** Loads the whole catalog, then follows the change log; starts the periodic safety net. */
  async start(): Promise<void> {
    await this.resync('start');
    await this.#reader.start();
    this.#timer = setInterval(() => void this.#check('periodic'), this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#retry);
    await this.#reader.stop();
  }

  /**
   * The safety net (and the check after a reconnect): compares Redis's revision and epoch with the
   * view's. Reloads when the epoch changed or Redis went back; when the reader was behind Redis at the
   * last check and has read nothing since, reloads too (the log did not bring what Redis has).
   */
  async #check(reason: string, attempt = 0): Promise<void> {
    if (this.#closed || this.#resyncing || this.#lastR < 0) return;
    // What the view had read before asking: the reader goes on meanwhile, and a revision read before
    // entries it then reads is not "Redis went back" (that misreading forced authoritative reloads).
    const lastR = this.#lastR;
    const seeks = this.#seeks;
    let head: { crev: number; epoch: number };
    try {
      head = await withDeadline(this.#store.revisionAndEpoch(), this.#timeoutMs, 'catalog revision check');
    } catch (err) {
      log.debug('catalog revision check failed', { reason, err: (err as Error).message });
      // After a reconnect the command connection may come back later than the reader: look again soon (bounded).
      if (reason !== 'periodic' && attempt < 10 && !this.#closed) setTimeout(() => void this.#check(reason, attempt + 1), 1000).unref();
      return;
    }
    if (this.#resyncing || this.#stalled || seeks !== this.#seeks) return;
    this.#view.markContact();
    if (head.epoch !== this.#epoch) return void this.#reload(`epoch changed (${this.#epoch} → ${head.epoch})`, true);
    if (head.crev < lastR) return void this.#reload(`Redis's catalog revision went back (${lastR} → ${head.crev})`, true);
    if (head.crev > this.#lastR) {
      // Behind Redis, and no entry read since the last check although there was one to read: the reader is stuck.
      // A reader that is merely slow (a write storm on a busy machine) is left to catch up: a reload would cost more.
      if (this.#behind > 0 && this.#lastR === this.#behindAt) return void this.#reload(`change log reader stuck (at ${this.#lastR}, Redis at ${this.#behind})`, false);
      this.#behind = head.crev;
      this.#behindAt = this.#lastR;
    } else this.#behind = 0;
  }

  /** Stops applying log entries and reloads (authoritatively with `reset`). */
  #reload(reason: string, reset: boolean): Promise<void> {
    log.info('catalog reload', { reason, authoritative: reset });
    this.#stalled = true;
    this.#resetNext ||= reset;
    return this.resync(reason);
  }

  /** Reloads the whole catalog into the view. Concurrent calls coalesce into one more run. */
  resync(reason: string): Promise<void> {
    M.syncerResyncs.with(reason).inc();
    if (this.#resyncing) { this.#resyncAgain = true; return this.#resyncing; }
    this.#resyncing = (async () => {
      do {
        this.#resyncAgain = false;
        try {
          // The log position first: everything up to it is in the snapshot read next, the rest comes from the log.
          const pos = await withDeadline(this.#store.streamHead(), this.#timeoutMs, 'change log head read');
          const reset = this.#resetNext || (this.#lastR >= 0 && pos.epoch !== this.#epoch);
          this.#resetNext = false;
          this.#reader.seek(pos.id);
          this.#seeks++;
          this.#lastR = pos.crev;
          this.#stalled = false;
          this.#behind = 0;
          // An authoritative reload records from now: a node re-read from the log meanwhile may be newer than its batch (re-applied after the swap).
          if (reset) this.#beginReset();
          let snap: Awaited<ReturnType<CatalogStore['loadAll']>>;
          const view = this.#view;
          // A reload into a serving view merges (or stages) each batch as it arrives; a first load applies all at once.
          const streaming = reset || view.nodeCount > 0;
          const seen = new Set<string>();
          let headIndex = 0;
          const onBatch = !streaming ? undefined : reset
            ? (states: NodeState[]) => runSliced(states.length, (a, b) => view.stageStates(states.slice(a, b)), this.#slices).then(() => undefined)
            : (states: NodeState[], at: number) => {
              const readAt = new Map(states.map(st => [st.node.Node.toLowerCase(), at])); // once per batch, not per slice
              return runSliced(states.length, (a, b) => view.mergeSlice(states.slice(a, b), headIndex, readAt, seen), this.#slices).then(() => undefined);
            };
          try {
            snap = await this.#store.loadAll((index, crev, tables, serviceIndex) => {
              if (crev > this.#crev) this.#crev = crev;
              headIndex = index;
              if (streaming && !reset) view.raiseIndexes(tables, serviceIndex);
            }, undefined, onBatch);
          } catch (err) {
            if (reset) { this.#view.abortReset(); this.#staged = null; this.#resetNext = true; }
            throw err;
          }
          if (reset) await this.#resetTo(snap);
          else if (streaming && snap.states.length === 0) await this.#finishMerge(seen, snap.index);
          else {
            this.#view.raiseIndexes(snap.tables, snap.serviceIndex);
            await this.#merge(snap);
          }
          this.#epoch = pos.epoch;
          this.reloads++; // counted once applied: a sliced reload serves the old view until then
          this.#view.markContact();
          log.debug('catalog reloaded', { reason, nodes: snap.states.length, index: snap.index, authoritative: reset });
          this.#covered(snap.index);
        } catch (err) {
          if (!this.#closed) {
            this.#stalled = true;
            log.warn('catalog reload failed; serving the last view and retrying', { reason, err: (err as Error).message });
            clearTimeout(this.#retry);
            this.#retry = setTimeout(() => void this.resync('retry'), 500);
            this.#retry.unref();
          }
        }
      } while (this.#resyncAgain && !this.#closed);
      this.#resyncing = null;
    })();
    return this.#resyncing;
  }

  /**
   * Merges a snapshot into the view: at once into an empty view (the first load, before DNS serves),
   * else in slices of about SLICE_BUDGET_MS of work, one per event-loop turn, so that no DNS answer waits for all of it.
   */
  async #merge(snap: Awaited<ReturnType<CatalogStore['loadAll']>>): Promise<void> {
    if (this.#view.nodeCount === 0 || snap.states.length <= SMALL_RELOAD) return this.#view.replaceAll(snap.states, snap.index, snap.readAt);
    const seen = new Set<string>();
    const view = this.#view;
    await runSliced(snap.states.length, (a, b) => view.mergeSlice(snap.states.slice(a, b), snap.index, snap.readAt, seen), this.#slices);
    await this.#finishMerge(seen, snap.index);
  }

  /** The end of a sliced merge: nodes the snapshot lacked are merged as absent at `index`; old tombstones pruned. */
  async #finishMerge(seen: ReadonlySet<string>, index: number): Promise<void> {
    const view = this.#view;
    const keys = view.nodeKeys();
    await runSteps(() => view.dropUnseen(keys, seen, index, 256), this.#slices);
    view.pruneAfterSlices(index);
  }

  /**
   * An authoritative reload: the view, its indexes and the watermark become the snapshot's, even if lower.
   * The new view is built beside the serving one in time-bounded slices and swapped in at once; nodes
   * re-read from the log since the log position was fixed (#beginReset, before the snapshot was read) are
   * applied to both (view.beginReset), and so are their table indexes.
   */
  #beginReset(): void {
    this.#view.beginReset();
    this.#staged = { tables: {}, max: 0 };
  }

  async #resetTo(snap: Awaited<ReturnType<CatalogStore['loadAll']>>): Promise<void> {
    const view = this.#view;
    try {
      await runSliced(snap.states.length, (a, b) => view.stageStates(snap.states.slice(a, b)), this.#slices);
    } finally {
      const staged = this.#staged ?? { tables: {}, max: 0 };
      this.#staged = null;
      view.resetIndexes(snap.tables, snap.serviceIndex);
      view.raiseIndexes(staged.tables);
      view.commitReset(snap.index);
      this.#crev = Math.max(snap.crev, this.#lastR);
      // Events up to the snapshot are in it; those applied meanwhile (re-applied by the swap) stay applied.
      for (let i = this.#openHead; i < this.#open.length && this.#open[i]!.index <= snap.index; i++) this.#open[i]!.left = 0;
      this.#watermark = Math.max(snap.index, staged.max);
    }
  }

  /**
   * Log entries, in order: each must follow on from the last (see the module comment). A long batch
   * (a catch-up, a write storm) is applied ENTRIES_PER_TURN at a time, one slice per event-loop turn,
   * so that DNS answers are not held behind it; the next read waits for the batch.
   */
  async #onEntries(entries: ChangeEntry[]): Promise<void> {
    let n = 0;
    const seeks = this.#seeks;
    for (const { fields } of entries) {
      if (this.#stalled) return;
      // A reload that fixed a new log position meanwhile makes the rest of this batch moot (it is read again from there).
      if (++n % ENTRIES_PER_TURN === 0) { await nextTurn(); if (this.#stalled || seeks !== this.#seeks) return; }
      if (fields.epoch !== undefined && Number(fields.epoch) !== this.#epoch) { void this.#reload(`epoch changed (${this.#epoch} → ${fields.epoch})`, true); return; }
      let ev: CatalogEvent;
      try { ev = JSON.parse(fields.e ?? '') as CatalogEvent; } catch { continue; }
      if (typeof ev.r !== 'number' || typeof ev.i !== 'number') continue;
      if (ev.r <= this.#lastR) { void this.#reload(`the change log restarted (revision ${ev.r} after ${this.#lastR})`, true); return; }
      if (ev.r > this.#lastR + 1) { void this.#reload(`change log entries trimmed (revision ${ev.r} after ${this.#lastR})`, false); return; }
      this.#lastR = ev.r;
      if (ev.r > this.#crev) this.#crev = ev.r;
      this.#apply(ev);
    }
    this.#view.markContact();
  }

  #apply(ev: CatalogEvent): void {
    // The event is applied whatever the view holds: reads are merged by index, so a covered one is harmless.
    const deltas: NodeDelta[] = Array.isArray(ev.d) ? ev.d : (Array.isArray(ev.n) ? ev.n : []).map(n => ({ n, f: 1 as const, s: [], c: [] }));
    const tok: Token = { index: ev.i, left: deltas.length };
    this.#open.push(tok);
    if (deltas.length === 0) { this.#tables(ev.t, ev.i); this.#view.raiseIndexes({}, {}, ev.i); this.#advance(); return; }
    for (const d of deltas) this.#refreshNode(d, ev.i, ev.t, tok);
  }

  /** Marks tokens done and moves the watermark over every leading applied event. */
  #advance(): void {
    const open = this.#open;
    let h = this.#openHead;
    while (h < open.length && open[h]!.left <= 0) {
      if (open[h]!.index > this.#watermark) this.#watermark = open[h]!.index;
      if (this.#staged && open[h]!.index > this.#staged.max) this.#staged.max = open[h]!.index;
      h++;
    }
    if (h === open.length) { open.length = 0; h = 0; } else if (h > 1024 && h * 2 > open.length) { open.splice(0, h); h = 0; }
    this.#openHead = h;
    this.emit('applied', this.#watermark);
  }

  /** A snapshot whose head was read at `index` was applied: every event up to it is reflected. */
  #covered(index: number): void {
    for (let i = this.#openHead; i < this.#open.length && this.#open[i]!.index <= index; i++) this.#open[i]!.left = 0; // events arrive in index order
    if (index > this.#watermark) this.#watermark = index;
    this.#advance();
  }

  /**
   * Re-reads what a delta names on one node: the whole node when its record changed, else only the
   * listed services and checks. Deltas arriving while a read is in flight are merged and read next.
   */
  #refreshNode(d: NodeDelta, index: number, tables: string, tok: Token): void {
    const name = d.n;
    let p = this.#pending.get(name);
    if (!p) this.#pending.set(name, (p = { full: false, s: new Set(), c: new Set(), index: 0, tables: '', tokens: [] }));
    p.tables += tables;
    p.tokens.push(tok);
    p.full ||= d.f === 1 || !this.#view.node(name);
    for (const id of Array.isArray(d.s) ? d.s : []) p.s.add(id);
    for (const id of Array.isArray(d.c) ? d.c : []) p.c.add(id);
    p.index = Math.max(p.index, index);
    void this.#drain(name);
  }

  /** Reads a node's pending deltas until none is left; a failed read keeps them pending, retried after 500 ms (the watermark waits). */
  async #drain(name: string): Promise<void> {
    if (this.#inflight.has(name)) return;
    if (this.#inflight.size >= NODE_READS_IN_FLIGHT) { this.#waiting.add(name); return; }
    this.#waiting.delete(name);
    this.#inflight.add(name);
    try {
      for (let cur = this.#pending.get(name); cur && !this.#closed; cur = this.#pending.get(name)) {
        this.#pending.delete(name);
        try {
          this.#tables(cur.tables, cur.index);
          await withDeadline(this.#read(name, cur.full, cur.s, cur.c), this.#timeoutMs, 'node read');
          this.#view.markContact();
          for (const t of cur.tokens) t.left--;
          this.#advance();
        } catch (err) {
          log.warn('node refresh failed; retrying', { node: name, err: (err as Error).message });
          const next = this.#pending.get(name);
          if (next) { // merge what arrived meanwhile into what failed
            next.full ||= cur.full; for (const id of next.s) cur.s.add(id); for (const id of next.c) cur.c.add(id);
            next.s = cur.s; next.c = cur.c; next.tables = cur.tables + next.tables; next.tokens = [...cur.tokens, ...next.tokens];
            next.index = Math.max(next.index, cur.index);
          } else this.#pending.set(name, cur);
          setTimeout(() => void this.#drain(name), 500).unref();
          break;
        }
      }
    } finally {
      this.#inflight.delete(name);
      // Started as a microtask: from here, a node with nothing to read (or a stopped syncer) recursed once per node waiting.
      const next = this.#closed ? (this.#waiting.clear(), undefined) : this.#waiting.values().next().value;
      if (next !== undefined) queueMicrotask(() => void this.#drain(next));
    }
  }

  /** Reads a node (whole, or the named records) and merges it into the view at the index it was read at. */
  async #read(name: string, full: boolean, s: Set<string>, c: Set<string>): Promise<void> {
    if (!full && this.#view.node(name)) {
      const patch = await this.#store.loadPartial(name, [...s], [...c]);
      if (patch.gone) { this.#view.putNode(name, null, patch.at); return; }
      if (this.#view.patchNode(name, patch.services, patch.checks, patch.at)) return;
    }
    const { state, at } = await this.#store.readNode(name);
    this.#view.putNode(name, state, at);
  }

  /** Table indexes move with the data: set just before the view applies the change that bumped them. */
  #tables(flags: string, index: number): void {
    for (const t of ['nodes', 'services', 'checks']) {
      if (!flags.includes(t[0]!)) continue;
      this.#view.raiseIndexes({ [t]: index });
      if (this.#staged) this.#staged.tables[t] = Math.max(this.#staged.tables[t] ?? 0, index);
    }
  }

  /** Every catalog event up to this index has been applied to the view. */
  get watermark(): number { return this.#watermark; }
  /** Node re-reads waiting for a read slot (tests). */ get queuedReads(): number { return this.#waiting.size; }

  /** Resolves once the view reflects every change up to `index` (read-your-writes for the HTTP API), or after timeoutMs. */
  waitFor(index: number, timeoutMs = 2000): Promise<boolean> {
    if (this.#watermark >= index) return Promise.resolve(true);
    return new Promise(resolve => {
      const done = (ok: boolean) => { clearTimeout(t); this.off('applied', on); resolve(ok); };
      const on = () => { if (this.#watermark >= index) done(true); };
      const t = setTimeout(() => done(this.#watermark >= index), timeoutMs);
      this.on('applied', on);
    });
  }
}
