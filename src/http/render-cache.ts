/**
 * @module Rendered read responses shared by every request that asks the same thing at the same index.
 *
 * A catalog or health read is a pure function of its endpoint, its query string and the view. The
 * view only changes together with a notifier fire of the topics a read names (the agent fires them
 * synchronously from the view's 'change' event), so an entry stays true until one of its topics
 * fires; `invalidate` drops it then. Thousands of blocking queries woken by one change therefore
 * serialise the answer once and write the same bytes to every socket.
 *
 * Bounded: at most `maxEntries` entries and `maxBytes` bytes of bodies (least recently used go first).
 */

/** One rendered response: its body bytes and the index they were rendered at. */
export interface Rendered {
  index: number;
  body: Buffer;
  /** When it was rendered (epoch ms): `?cached` answers `Age` from it. */
  renderedAt?: number;
  /** This request was served from the cache (`X-Cache: HIT`). */
  cached?: boolean;
}

interface Entry extends Rendered {
  topics: readonly string[];
}

export class RenderCache {
  /** key → entry; Map order is recency (a hit re-inserts). */
  #entries = new Map<string, Entry>();
  /** topic → keys of the entries that depend on it. */
  #byTopic = new Map<string, Set<string>>();
  #bytes = 0;
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** Renders performed (misses), for tests and benchmarks. */
  renders = 0;

  constructor(opts: { maxEntries?: number; maxBytes?: number } = {}) {
    this.maxEntries = opts.maxEntries ?? 2048;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  }

  /**
   * The entry for `key` when it was rendered at `index` (and none of its topics fired since), else
   * renders it with `render`, keeps it, and returns it. A body larger than maxBytes is returned
   * without being kept.
   */
  get(key: string, index: number, topics: readonly string[], render: () => Buffer): Rendered {
    const hit = this.#entries.get(key);
    if (hit && hit.index === index) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return { index: hit.index, body: hit.body, renderedAt: hit.renderedAt, cached: true };
    }
    if (hit) this.#drop(key);
    const body = render();
    this.renders++;
    const e: Entry = { index, body, topics, renderedAt: Date.now() };
    if (body.length > this.maxBytes) return e;
    this.#entries.set(key, e);
    this.#bytes += body.length;
    for (const t of topics) {
      let s = this.#byTopic.get(t);
      if (!s) this.#byTopic.set(t, (s = new Set()));
      s.add(key);
    }
    while (this.#entries.size > this.maxEntries || this.#bytes > this.maxBytes) {
      const oldest = this.#entries.keys().next().value!;
      this.#drop(oldest);
    }
    return e;
  }

  /** Drops every entry that depends on `topic` (called when the topic fires). */
  invalidate(topic: string): void {
    const s = this.#byTopic.get(topic);
    if (!s) return;
    for (const k of s) this.#drop(k);
  }

  /** Drops every entry that depends on a topic starting with one of `prefixes` (work bounded by the cache, not the catalog). */
  invalidatePrefixed(prefixes: readonly string[]): void {
    for (const t of [...this.#byTopic.keys()]) if (prefixes.some(p => t.startsWith(p))) this.invalidate(t);
  }

  /** Drops everything. */
  clear(): void {
    this.#entries.clear();
    this.#byTopic.clear();
    this.#bytes = 0;
  }

  get size(): number { return this.#entries.size; }
  get bytes(): number { return this.#bytes; }

  #drop(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.#entries.delete(key);
    this.#bytes -= e.body.length;
    for (const t of e.topics) {
      const s = this.#byTopic.get(t);
      if (!s) continue;
      s.delete(key);
      if (s.size === 0) this.#byTopic.delete(t);
    }
  }
}
