/**
 * @module Keeps a CatalogView in step with Redis.
 *
 * Change events (pub/sub) name the nodes a write touched; the syncer re-reads those nodes and
 * swaps them into the view. Pub/sub is only a hint: it drops messages across reconnects, so the
 * syncer does a full resync on every subscriber (re)connect, whenever an event's catalog revision
 * skips one, and periodically as a safety net. While Redis is down the view keeps its last state.
 */
import { Redis } from 'ioredis';
import { EventEmitter } from 'node:events';
import type { CatalogView } from './view.ts';
import type { CatalogEvent, CatalogStore, NodeDelta } from '../store/catalog-store.ts';
import { logger } from '../log.ts';

const log = logger('agent.catalog');

export interface SyncerEvents {
  /** After the view applied a change event (or a resync): the catalog index now reflected. */
  applied: [index: number];
}

export class CatalogSyncer extends EventEmitter<SyncerEvents> {
  #store: CatalogStore;
  #view: CatalogView;
  #sub: Redis;
  #crev = 0;
  #timer?: NodeJS.Timeout;
  #retry?: NodeJS.Timeout;
  #resyncing: Promise<void> | null = null;
  #resyncAgain = false;
  #pending = new Map<string, { full: boolean; s: Set<string>; c: Set<string>; index: number; tables: string }>();
  #inflight = new Set<string>();
  #closed = false;
  #intervalMs: number;

  constructor(store: CatalogStore, view: CatalogView, opts: { resyncIntervalMs?: number } = {}) {
    super();
    this.#store = store;
    this.#view = view;
    this.#intervalMs = opts.resyncIntervalMs ?? 30_000;
    this.#sub = new Redis({ ...store.redis.options, lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: (t: number) => Math.min(t * 50, 500) });
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
        try {
          const snap = await this.#store.loadAll();
          this.#crev = snap.crev;
          this.#view.tableIndex = snap.tables;
          this.#view.serviceIndex = new Map(Object.entries(snap.serviceIndex));
          this.#view.replaceAll(snap.states, snap.index);
          this.#view.lastSync = Date.now();
          if (reason !== 'periodic') log.debug('catalog resynced', { reason, nodes: snap.states.length, index: snap.index });
          this.emit('applied', snap.index);
        } catch (err) {
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

  #onMessage(msg: string): void {
    let ev: CatalogEvent;
    try { ev = JSON.parse(msg) as CatalogEvent; } catch { return; }
    if (this.#crev > 0 && ev.r > this.#crev + 1) {
      log.debug('catalog event gap; resyncing', { have: this.#crev, got: ev.r });
      this.#crev = ev.r;
      void this.resync('revision gap');
      return;
    }
    if (ev.r > this.#crev) this.#crev = ev.r;
    const deltas: NodeDelta[] = Array.isArray(ev.d) ? ev.d : (Array.isArray(ev.n) ? ev.n : []).map(n => ({ n, f: 1 as const, s: [], c: [] }));
    if (deltas.length === 0) { this.#tables(ev.t, ev.i); this.#view.revision = Math.max(this.#view.revision, ev.i); this.emit('applied', ev.i); return; }
    for (const d of deltas) void this.#refreshNode(d, ev.i, ev.t);
  }

  /**
   * Re-reads what a delta names on one node: the whole node when its record changed, else only the
   * listed services and checks. Deltas arriving while a read is in flight are merged and read next.
   */
  async #refreshNode(d: NodeDelta, index: number, tables: string): Promise<void> {
    const name = d.n;
    let p = this.#pending.get(name);
    if (!p) this.#pending.set(name, (p = { full: false, s: new Set(), c: new Set(), index: 0, tables: '' }));
    p.tables += tables;
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
          if (cur.full || !this.#view.node(name)) {
            this.#view.putNode(name, await this.#store.loadNode(name), cur.index);
          } else {
            const patch = await this.#store.loadPartial(name, [...cur.s], [...cur.c]);
            if (!patch) this.#view.putNode(name, null, cur.index);
            else if (!this.#view.patchNode(name, patch.services, patch.checks, cur.index)) this.#view.putNode(name, await this.#store.loadNode(name), cur.index);
          }
          this.#view.lastSync = Date.now();
          this.emit('applied', cur.index);
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

  /** Table indexes move with the data: set just before the view applies the change that bumped them. */
  #tables(flags: string, index: number): void {
    for (const t of ['nodes', 'services', 'checks']) if (flags.includes(t[0]!)) this.#view.tableIndex[t] = Math.max(this.#view.tableIndex[t] ?? 0, index);
  }

  /** Resolves once the view reflects at least `index` (read-your-writes for the HTTP API), or after timeoutMs. */
  waitFor(index: number, timeoutMs = 2000): Promise<boolean> {
    if (this.#view.revision >= index) return Promise.resolve(true);
    return new Promise(resolve => {
      const done = (ok: boolean) => { clearTimeout(t); this.off('applied', on); resolve(ok); };
      const on = () => { if (this.#view.revision >= index) done(true); };
      const t = setTimeout(() => done(this.#view.revision >= index), timeoutMs);
      this.on('applied', on);
    });
  }
}
