/**
 * @module Keeps a CatalogView in step with Redis.
 *
 * Change events (pub/sub) name the nodes a write touched; the syncer re-reads those nodes and
 * merges them into the view. Pub/sub is only a hint: it drops messages across reconnects, so the
 * syncer does a full resync on every subscriber (re)connect, whenever an event's catalog revision
 * skips one, and periodically as a safety net. While Redis is down the view keeps its last state.
 *
 * Ordering rules (reads race with each other; see src/catalog/merge.ts for how the view merges):
 *  - every read carries the index it was taken at, and the view never moves backwards;
 *  - the catalog revision only moves forward: a resync covers every event up to the revision its
 *    head read saw; events that arrive while that head read is pending are judged once it is known,
 *    so events published during a resync are never mistaken for a gap;
 *  - `waitFor(i)` resolves once every event up to index i has been applied (a watermark), not when
 *    some later event happened to be applied first.
 *  - the epoch rule: a snapshot restore replaces the catalog wholesale and INCRs `keys.epoch` in the
 *    same step (its records may carry indexes older than the view's). A resync whose head read sees
 *    an epoch other than the one the view was loaded under replaces the view authoritatively
 *    (CatalogView.resetAll), and the restore's event (`x`: the new epoch) starts that resync at once;
 *    node reads begun under the old epoch are dropped.
 */
import type { Redis } from 'ioredis';
import { EventEmitter } from 'node:events';
import type { CatalogView } from './view.ts';
import type { CatalogEvent, CatalogStore, NodeDelta } from '../store/catalog-store.ts';
import { logger } from '../log.ts';

const log = logger('agent.catalog');

export interface SyncerEvents {
  /** After the view applied a change event (or a resync): the catalog index now reflected. */
  applied: [index: number];
}

/** One change event until every node it names has been re-read. */
interface Token { index: number; left: number }

export class CatalogSyncer extends EventEmitter<SyncerEvents> {
  #store: CatalogStore;
  #view: CatalogView;
  #sub: Redis;
  /** Every catalog event with a revision ≤ crev is covered (applied, or read by a snapshot after it). */
  #crev = 0;
  /** A resync has started and its head read (which fixes the revision it covers) has not returned. */
  #headPending = false;
  /** Revisions that arrived out of sequence while a head read was pending; judged when it returns. */
  #ahead: number[] = [];
  /** Events not yet applied, in arrival (= index) order; `#watermark`: every event up to it is applied. */
  #open: Token[] = [];
  #openHead = 0;
  #watermark = 0;
  #timer?: NodeJS.Timeout;
  #retry?: NodeJS.Timeout;
  #resyncing: Promise<void> | null = null;
  #resyncAgain = false;
  #pending = new Map<string, { full: boolean; s: Set<string>; c: Set<string>; index: number; tables: string; tokens: Token[] }>();
  #inflight = new Set<string>();
  #closed = false;
  #intervalMs: number;
  /** The epoch the view was loaded under (null: not loaded yet). */
  #epoch: number | null = null;
  /** Bumped by every authoritative reset: node reads begun before it are stale. */
  #gen = 0;

  /**
   * `subscriber` is a pub/sub connection of its own (src/store/connect.ts, role 'subscriber'): it
   * follows failovers and resubscribes by itself; the syncer resyncs on each of its reconnects.
   */
  constructor(store: CatalogStore, view: CatalogView, opts: { subscriber: Redis; resyncIntervalMs?: number }) {
    super();
    this.#store = store;
    this.#view = view;
    this.#intervalMs = opts.resyncIntervalMs ?? 30_000;
    this.#sub = opts.subscriber;
  }

  /** Subscribes, loads the whole catalog, and starts the periodic resync. */
  async start(): Promise<void> {
    this.#sub.on('message', (_ch, msg) => this.#onMessage(msg));
    this.#sub.on('ready', () => { if (this.#crev > 0 || this.#view.lastSync > 0) void this.resync('subscriber reconnected'); });
    this.#sub.on('error', err => log.debug('subscriber error', { err: err.message }));
    // The command connection may come back after the subscriber: resync when it does, too.
    this.#store.redis.on('ready', () => { if (this.#view.lastSync > 0) void this.resync('redis reconnected'); });
    await this.#sub.connect();
    await this.#sub.subscribe(this.#store.keys.events);
    await this.resync('start');
    this.#timer = setInterval(() => void this.resync('periodic'), this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#retry);
    this.#sub.disconnect();
  }

  /** Reloads the whole catalog into the view. Concurrent calls coalesce into one more run. */
  resync(reason: string): Promise<void> {
    if (this.#resyncing) { this.#resyncAgain = true; return this.#resyncing; }
    this.#resyncing = (async () => {
      do {
        this.#resyncAgain = false;
        this.#headPending = true;
        try {
          const snap = await this.#store.loadAll((_index, crev) => this.#headRead(crev));
          for (const [t, i] of Object.entries(snap.tables)) this.#view.tableIndex[t] = Math.max(this.#view.tableIndex[t] ?? 0, i);
          for (const [s, i] of Object.entries(snap.serviceIndex)) if ((this.#view.serviceIndex.get(s) ?? 0) < i) this.#view.serviceIndex.set(s, i);
          if (this.#epoch !== null && snap.epoch !== this.#epoch) {
            log.info('catalog epoch changed (snapshot restored): reloading the view authoritatively', { from: this.#epoch, to: snap.epoch, index: snap.index });
            this.#gen++;
            this.#view.resetAll(snap.states, snap.index);
          } else this.#view.replaceAll(snap.states, snap.index, snap.readAt);
          this.#epoch = snap.epoch;
          this.#view.lastSync = Date.now();
          if (reason !== 'periodic') log.debug('catalog resynced', { reason, nodes: snap.states.length, index: snap.index });
          this.#covered(snap.index);
        } catch (err) {
          this.#headPending = false;
          this.#ahead = [];
          if (!this.#closed) {
            log.warn('catalog resync failed; serving the last view and retrying', { reason, err: (err as Error).message });
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

  /** The head read of a resync returned: every event up to `crev` is covered; judge what came meanwhile. */
  #headRead(crev: number): void {
    this.#headPending = false;
    if (crev > this.#crev) this.#crev = crev;
    const ahead = this.#ahead.sort((a, b) => a - b);
    this.#ahead = [];
    for (const r of ahead) {
      if (r <= this.#crev) continue;
      if (r !== this.#crev + 1) {
        // Pub/sub delivers in publish order, so a revision after the head read that never arrived was lost.
        log.debug('catalog event gap during a resync; resyncing again', { have: this.#crev, got: r });
        this.#resyncAgain = true;
      }
      this.#crev = r;
    }
  }

  #onMessage(msg: string): void {
    let ev: CatalogEvent;
    try { ev = JSON.parse(msg) as CatalogEvent; } catch { return; }
    if (typeof ev.r !== 'number' || typeof ev.i !== 'number') return;
    if (typeof ev.x === 'number') { // a snapshot restore: reload authoritatively now (the epoch rule)
      if (ev.r > this.#crev) this.#crev = ev.r;
      if (ev.x !== this.#epoch) void this.resync('epoch changed');
      return;
    }
    if (ev.r === this.#crev + 1) this.#crev = ev.r;
    else if (ev.r > this.#crev + 1) {
      if (this.#headPending) this.#ahead.push(ev.r);
      else {
        log.debug('catalog event gap; resyncing', { have: this.#crev, got: ev.r });
        this.#crev = ev.r;
        void this.resync('revision gap');
      }
    }
    // The event is applied whatever its revision: reads are merged by index, so a late or repeated one is harmless.
    const deltas: NodeDelta[] = Array.isArray(ev.d) ? ev.d : (Array.isArray(ev.n) ? ev.n : []).map(n => ({ n, f: 1 as const, s: [], c: [] }));
    const tok: Token = { index: ev.i, left: deltas.length };
    this.#open.push(tok);
    if (deltas.length === 0) { this.#tables(ev.t, ev.i); this.#view.revision = Math.max(this.#view.revision, ev.i); this.#advance(); return; }
    for (const d of deltas) void this.#refreshNode(d, ev.i, ev.t, tok);
  }

  /** Marks tokens done and moves the watermark over every leading applied event. */
  #advance(): void {
    const open = this.#open;
    let h = this.#openHead;
    while (h < open.length && open[h]!.left <= 0) { if (open[h]!.index > this.#watermark) this.#watermark = open[h]!.index; h++; }
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
  async #refreshNode(d: NodeDelta, index: number, tables: string, tok: Token): Promise<void> {
    const name = d.n;
    let p = this.#pending.get(name);
    if (!p) this.#pending.set(name, (p = { full: false, s: new Set(), c: new Set(), index: 0, tables: '', tokens: [] }));
    p.tables += tables;
    p.tokens.push(tok);
    p.full ||= d.f === 1 || !this.#view.node(name);
    for (const id of Array.isArray(d.s) ? d.s : []) p.s.add(id);
    for (const id of Array.isArray(d.c) ? d.c : []) p.c.add(id);
    p.index = Math.max(p.index, index);
    if (this.#inflight.has(name)) return;
    this.#inflight.add(name);
    try {
      for (let cur = this.#pending.get(name); cur; cur = this.#pending.get(name)) {
        this.#pending.delete(name);
        try {
          this.#tables(cur.tables, cur.index);
          await this.#read(name, cur.full, cur.s, cur.c);
          this.#view.lastSync = Date.now();
          for (const t of cur.tokens) t.left--;
          this.#advance();
        } catch (err) {
          log.warn('node refresh failed; resyncing', { node: name, err: (err as Error).message });
          void this.resync('node refresh failed');
          break;
        }
      }
    } finally {
      this.#inflight.delete(name);
    }
  }

  /** Reads a node (whole, or the named records) and merges it into the view at the index it was read at. */
  async #read(name: string, full: boolean, s: Set<string>, c: Set<string>): Promise<void> {
    const gen = this.#gen;
    if (!full && this.#view.node(name)) {
      const patch = await this.#store.loadPartial(name, [...s], [...c]);
      if (gen !== this.#gen) return; // read before an authoritative reset: the reset is newer
      if (!patch) { const { at } = await this.#store.readNode(name); if (gen === this.#gen) this.#view.putNode(name, null, at); return; }
      if (this.#view.patchNode(name, patch.services, patch.checks, patch.at)) return;
    }
    const { state, at } = await this.#store.readNode(name);
    if (gen !== this.#gen) return;
    this.#view.putNode(name, state, at);
  }

  /** Table indexes move with the data: set just before the view applies the change that bumped them. */
  #tables(flags: string, index: number): void {
    for (const t of ['nodes', 'services', 'checks']) if (flags.includes(t[0]!)) this.#view.tableIndex[t] = Math.max(this.#view.tableIndex[t] ?? 0, index);
  }

  /** Every catalog event up to this index has been applied to the view. */
  get watermark(): number {
    return this.#watermark;
  }

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
