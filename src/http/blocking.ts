/**
 * @module Blocking queries (Consul's `?index=&wait=`), built on topic notifications.
 *
 * A query names the topics its data depends on (`svc:web`, `node:n1`, `table:services`,
 * `kv:key`, `kvprefix:` ...). It re-runs only when one of its topics fires, so a watch on one
 * KV key is never woken by another key. Topics fire after the in-memory state reflects the change.
 *
 * Parked queries are cheap: a parked query holds one small Waiter (no closure, no timer of its own,
 * not the response it last computed); deadlines sit in one timer wheel of TICK_MS buckets. Catalog
 * and health reads render through `sharedBlocking`, so every watcher woken by one change shares
 * one rendered body (see render-cache.ts).
 */
import { HttpError, toJson, type Ctx } from './server.ts';
import { parseDurationNs } from '../util/duration.ts';
import { RenderCache, type Rendered } from './render-cache.ts';

/** The time source of the notifier's deadlines (injected by tests). */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: h => clearTimeout(h as NodeJS.Timeout),
};

/** Width of a timer-wheel bucket: a wait ends at most this much after its deadline. */
export const TICK_MS = 50;

/**
 * One parked query: in its topic sets and one timer-wheel bucket until released (fire, deadline or
 * client gone). It is its own abort listener (handleEvent), so no closure per waiter.
 */
class Waiter {
  readonly owner: Notifier;
  readonly topics: readonly string[];
  readonly prefixes: readonly string[];
  /** Timer-wheel bucket of its deadline (set on each park). */
  tick = 0;
  parked = false;

  constructor(owner: Notifier, topics: readonly string[], prefixes: readonly string[]) {
    this.owner = owner;
    this.topics = topics;
    this.prefixes = prefixes;
  }

  /** Called on abort (EventTarget listener object) or when the client goes away. */
  handleEvent(): void { this.owner.release(this); }
  /** Stops watching for the client going away (on release). */
  unlisten(): void {}
  /** Called once per release, after the waiter left every set. */
  woken(): void {}
}

/** A Notifier.wait(): resolves its promise when released. */
class PromiseWaiter extends Waiter {
  readonly signal: AbortSignal | undefined;
  resolve: (() => void) | null;
  constructor(owner: Notifier, topics: readonly string[], prefixes: readonly string[], signal: AbortSignal | undefined, resolve: () => void) {
    super(owner, topics, prefixes);
    this.signal = signal;
    this.resolve = resolve;
  }
  override unlisten(): void { this.signal?.removeEventListener('abort', this); }
  override woken(): void {
    const r = this.resolve;
    this.resolve = null;
    r?.();
  }
}

export class Notifier {
  #topics = new Map<string, Set<Waiter>>();
  /** KV prefix watchers: prefix → waiters (woken by any key under the prefix). */
  #prefixes = new Map<string, Set<Waiter>>();
  /** Timer wheel: bucket number (deadline / TICK_MS, rounded up) → waiters; `#ticks` lists the buckets in order. */
  #buckets = new Map<number, Set<Waiter>>();
  #ticks: number[] = [];
  #timer: unknown = null;
  #armedTick = Infinity;
  #count = 0;
  readonly clock: Clock;
  /** Rendered catalog/health responses; entries drop when one of their topics fires. */
  readonly renders: RenderCache;

  constructor(opts: { clock?: Clock; renders?: RenderCache } = {}) {
    this.clock = opts.clock ?? systemClock;
    this.renders = opts.renders ?? new RenderCache();
  }

  now(): number { return this.clock.now(); }

  /** Resolves when any topic fires (or a key under a watched prefix changes), on timeout, or on abort. */
  wait(topics: string[], prefixes: string[], timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise(resolve => {
      const w = new PromiseWaiter(this, topics, prefixes, signal, resolve);
      signal?.addEventListener('abort', w);
      this.park(w, timeoutMs);
    });
  }

  /** Puts a waiter in its topic sets and in the timer wheel, `timeoutMs` from now. */
  park(w: Waiter, timeoutMs: number): void {
    const tick = Math.ceil((this.clock.now() + Math.max(0, timeoutMs)) / TICK_MS);
    w.tick = tick;
    w.parked = true;
    for (const tp of w.topics) add(this.#topics, tp, w);
    for (const p of w.prefixes) add(this.#prefixes, p, w);
    let b = this.#buckets.get(tick);
    if (!b) {
      this.#buckets.set(tick, (b = new Set()));
      let lo = 0, hi = this.#ticks.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (this.#ticks[mid]! < tick) lo = mid + 1; else hi = mid; }
      this.#ticks.splice(lo, 0, tick);
    }
    b.add(w);
    this.#count++;
    if (tick < this.#armedTick) this.#arm();
  }

  /** Unparks a waiter (fire, timeout or abort) and wakes it; idempotent. */
  release(w: Waiter): void {
    if (!w.parked) return;
    w.parked = false;
    this.#count--;
    w.unlisten();
    for (const tp of w.topics) remove(this.#topics, tp, w);
    for (const p of w.prefixes) remove(this.#prefixes, p, w);
    this.#buckets.get(w.tick)?.delete(w);
    this.released++;
    w.woken();
  }

  /** Waiters released so far (answered, timed out or gone), for heap trimming and benchmarks. */
  released = 0;

  #arm(): void {
    if (this.#timer !== null) this.clock.clearTimeout(this.#timer);
    this.#timer = null;
    // Buckets emptied by fires stay listed until their time; skip them.
    while (this.#ticks.length && this.#buckets.get(this.#ticks[0]!)?.size === 0) this.#buckets.delete(this.#ticks.shift()!);
    const first = this.#ticks[0];
    this.#armedTick = first ?? Infinity;
    if (first === undefined) return;
    this.#timer = this.clock.setTimeout(() => this.#onTick(), Math.max(0, first * TICK_MS - this.clock.now()));
  }

  #onTick(): void {
    this.#timer = null;
    const now = this.clock.now();
    while (this.#ticks.length && this.#ticks[0]! * TICK_MS <= now) {
      const t = this.#ticks.shift()!;
      const b = this.#buckets.get(t);
      this.#buckets.delete(t);
      if (b) for (const w of b) this.release(w);
    }
    this.#arm();
  }

  /** Incremented on every fire: a query that saw it change while it ran re-runs instead of parking. */
  seq = 0;

  /** Wakes every waiter on a topic and drops the rendered responses that depend on it. */
  fire(topic: string): void {
    this.seq++;
    this.renders.invalidate(topic);
    this.#wake(topic);
  }

  /** Releases every waiter parked on `topic`. */
  #wake(topic: string): void {
    const s = this.#topics.get(topic);
    if (!s) return;
    this.#topics.delete(topic);
    for (const w of s) this.release(w);
  }

  /**
   * Fires every topic starting with one of `prefixes` (a catalog reset touched everything): wakes the
   * waiters parked on them and drops the renders that read them. The work is bounded by the parked
   * waiters and cached renders, not by how many nodes and services the catalog holds.
   */
  fireAllPrefixed(prefixes: readonly string[]): void {
    this.seq++;
    this.renders.invalidatePrefixed(prefixes);
    for (const t of [...this.#topics.keys()]) if (prefixes.some(p => t.startsWith(p))) this.#wake(t);
  }

  /** Wakes waiters on `kv:<key>` and on every watched prefix of key. */
  fireKey(key: string): void {
    this.seq++;
    this.fire(`kv:${key}`);
    for (const [p, s] of this.#prefixes) {
      if (key.startsWith(p)) {
        this.#prefixes.delete(p);
        for (const w of s) this.release(w);
      }
    }
  }

  /** Number of parked waiters (for stats and benchmarks). */
  get waiting(): number {
    return this.#count;
  }

  /** Number of timer-wheel buckets holding deadlines (for tests: one timer serves them all). */
  get wheelBuckets(): number {
    return this.#ticks.length;
  }
}

function add(m: Map<string, Set<Waiter>>, k: string, w: Waiter): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(w);
}

function remove(m: Map<string, Set<Waiter>>, k: string, w: Waiter): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(w);
  if (s.size === 0) m.delete(k);
}

export interface BlockingParams { index: number; waitMs: number }

const MAX_WAIT = 10 * 60_000;
const DEFAULT_WAIT = 5 * 60_000;

/** Parses `index` and `wait` as Consul does (400 `Invalid wait time` / `Invalid index`). */
export function blockingParams(ctx: Ctx): BlockingParams {
  const w = ctx.query.get('wait');
  const i = ctx.query.get('index');
  let waitMs = DEFAULT_WAIT;
  if (w !== null && w !== '') {
    try {
      waitMs = parseDurationNs(w) / 1e6;
    } catch {
      throw new HttpError(400, 'Invalid wait time');
    }
    if (waitMs < 0) throw new HttpError(400, 'Invalid wait time');
    waitMs = Math.min(waitMs, MAX_WAIT);
  }
  let index = 0;
  if (i !== null && i !== '') {
    // Go's strconv.ParseUint(i, 10, 64): digits only, at most 2^64 - 1.
    if (!/^\d+$/.test(i) || (i.length > 15 && BigInt(i) > 0xffffffffffffffffn)) throw new HttpError(400, 'Invalid index');
    index = Number(i);
  }
  return { index, waitMs };
}

/** Consul adds up to wait/16 of jitter so that many watchers do not return together. */
function deadlineOf(notifier: Notifier, waitMs: number): number {
  return notifier.now() + waitMs + Math.random() * (waitMs / 16);
}

/**
 * Runs a query, blocking while its index is not greater than `?index`. `run` returns the data
 * and its index; `topics` are re-evaluated each round (what the query read). While parked, only
 * the index is kept (the data is dropped and computed again when the wait ends).
 */
export async function blocking<T>(ctx: Ctx, notifier: Notifier, deps: { topics: string[]; prefixes?: string[] }, run: () => Promise<{ index: number; data: T }> | { index: number; data: T }): Promise<{ index: number; data: T }> {
  const { index: min, waitMs } = blockingParams(ctx);
  let seq = notifier.seq;
  let r: { index: number; data: T } | null = await run();
  if (min <= 0 || r.index > min) return r;
  // The wait starts here: it holds one of the client's blocking-query slots until the answer (429 past the cap).
  ctx.enterBlocking();
  const deadline = deadlineOf(notifier, waitMs);
  for (;;) {
    const left = deadline - notifier.now();
    if (left <= 0 || ctx.signal.aborted) return r; // the last result: nothing changed since it was read
    r = null; // parked: keep only the index
    if (notifier.seq === seq) await notifier.wait(deps.topics, deps.prefixes ?? [], left, ctx.signal);
    seq = notifier.seq;
    r = await run();
    if (r.index > min) return r;
  }
}

/** What a shared blocking read depends on, how to get its index cheaply, and how to build its body. */
export interface SharedSpec { topics: readonly string[]; index: () => number; render: () => unknown }

/**
 * A blocking read whose answer is a pure function of (endpoint, query, view): `index()` is cheap
 * and is all a parked query evaluates; `render()` builds the body, at most once per (path, query
 * without index/wait, index) as long as none of `topics` fired, and the serialised bytes are
 * shared by every request that asks for them. `index()` and `render()` run in the same turn, so
 * the body always belongs to the index returned with it.
 *
 * A parked read is one SharedWait (no async frame of its own, no timer, no AbortController when
 * the Ctx offers `watchGone`).
 */
export function sharedBlocking(ctx: Ctx, notifier: Notifier, spec: SharedSpec): Promise<Rendered> {
  try {
    const { index: min, waitMs } = blockingParams(ctx);
    const idx = spec.index();
    if (min > 0 && idx <= min) {
      ctx.enterBlocking(); // one of the client's blocking-query slots until the answer (429 past the cap)
      const deadline = deadlineOf(notifier, waitMs);
      return new Promise((resolve, reject) => new SharedWait(notifier, ctx, spec, min, deadline, resolve, reject).check(idx));
    }
    return Promise.resolve(renderShared(ctx, notifier, spec, idx));
  } catch (err) {
    return Promise.reject(err);
  }
}

function renderShared(ctx: Ctx, notifier: Notifier, spec: SharedSpec, idx: number): Rendered {
  return notifier.renders.get(renderKey(ctx), idx, spec.topics, () => Buffer.from(toJson(spec.render(), ctx.has('pretty'))));
}

/** One parked shared read: re-reads the index when woken, answers once it moved past `min`, at the deadline, or when the client left. */
class SharedWait extends Waiter {
  readonly ctx: Ctx;
  readonly spec: SharedSpec;
  readonly min: number;
  readonly deadline: number;
  readonly resolve: (r: Rendered) => void;
  readonly reject: (err: unknown) => void;

  constructor(owner: Notifier, ctx: Ctx, spec: SharedSpec, min: number, deadline: number, resolve: (r: Rendered) => void, reject: (err: unknown) => void) {
    super(owner, spec.topics, NO_PREFIXES);
    this.ctx = ctx;
    this.spec = spec;
    this.min = min;
    this.deadline = deadline;
    this.resolve = resolve;
    this.reject = reject;
  }

  /** Answers if the index moved past `min`, the deadline passed or the client left; else parks (again). */
  check(idx: number): void {
    try {
      const left = this.deadline - this.owner.now();
      if (idx <= this.min && left > 0) {
        // A client that left gets nothing: no render for it.
        if (this.#listen()) { this.resolve({ index: idx, body: EMPTY }); return; }
        this.owner.park(this, left);
        return;
      }
      this.resolve(renderShared(this.ctx, this.owner, this.spec, idx));
    } catch (err) {
      this.reject(err);
    }
  }

  /** Watches for the client going away; true when it already has. */
  #listen(): boolean {
    const c = this.ctx;
    if (c.watchGone) return c.watchGone(this);
    if (c.signal.aborted) return true;
    c.signal.addEventListener('abort', this);
    return false;
  }

  override unlisten(): void {
    const c = this.ctx;
    if (c.watchGone) c.watchGone(null);
    else c.signal.removeEventListener('abort', this);
  }

  /** Re-checks in a microtask, as an awaiting query would: the fire that woke it finishes first. */
  override woken(): void { queueMicrotask(() => { try { this.check(this.spec.index()); } catch (err) { this.reject(err); } }); }
}

const NO_PREFIXES: readonly string[] = Object.freeze([]);
const EMPTY = Buffer.alloc(0);

/** Interned one-topic lists: parked reads of one service share the topic string and its array. */
const topicLists = new Map<string, readonly string[]>();

/** `[topic]`, the same frozen array (and string) for every read of the same topic. */
export function topicList(topic: string): readonly string[] {
  let l = topicLists.get(topic);
  if (!l) {
    if (topicLists.size >= 10_000) topicLists.clear();
    topicLists.set(topic, (l = Object.freeze([topic])));
  }
  return l;
}

/**
 * The path and every query parameter except `index`, `wait` and `token`, in request order (percent-encoded:
 * unambiguous). Renders never depend on the token (ACL filters run on the rendered body, src/http/acl.ts), so
 * python-consul's `?token=` clients share them too, and no secret becomes a cache key.
 */
export function renderKey(ctx: Ctx): string {
  let k = encodeURIComponent(ctx.path);
  for (const [n, v] of ctx.query) if (n !== 'index' && n !== 'wait' && n !== 'token') k += `&${encodeURIComponent(n)}=${encodeURIComponent(v)}`;
  return k;
}
