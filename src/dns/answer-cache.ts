/**
 * @module Pre-encoded replies, keyed by (transport/EDNS class, qtype, lower-cased wire name).
 *
 * An entry holds one or more complete encoded replies ("variants": differently shuffled
 * instance orders, each trimmed on its own) with ID 0 and the lower-cased question; a query
 * only copies one, pastes its own question bytes over the template's (same length, so every
 * compression pointer into the question stays valid and answers follow the client's spelling),
 * and patches ID, opcode, RD/CD, the SOA serial, and the OPT record.
 *
 * Invalidation is precise: each entry lists the catalog names it read (`s:web`, `n:node1`, `*`
 * for PTR, `zones` for static zones) and a view change drops exactly the entries that read a
 * name the change touched. The cache is bounded; the oldest entries go first.
 */

export interface Variant {
  buf: Buffer;
  /** Offsets of SOA serials to set to the current Unix time. */
  serials: number[];
}

export interface Entry {
  variants: Variant[];
  next: number;
  deps: readonly string[];
  /** When the answer was trimmed and shuffled, rebuild after this many uses so other instances get their turn. */
  refreshAfter: number;
  uses: number;
  /** For metrics (src/dns/metrics.ts): the reply's RCODE, plus 16 for a reverse (`*.arpa`) answer. */
  kind: number;
  /** A negative answer shared by every name of its zone cut and length (negative.ts): never stored under a name's key. */
  shared?: boolean;
  /** Re-assembles the variants from the next instances (no re-encoding); without it the entry is dropped and rebuilt. */
  rotate?: () => void;
  /** The question that built it (answer thread only): built again at once when a change drops it while it is in demand. */
  src?: { msg: Buffer; transport: 'udp' | 'tcp' };
}

/** A bounded map of entries with a reverse index from dependency to keys. */
export class AnswerCache {
  readonly #map = new Map<string, Entry>();
  readonly #byDep = new Map<string, Set<string>>();
  readonly #max: number;
  hits = 0;
  misses = 0;

  constructor(max = 50_000) { this.#max = max; }

  get size(): number { return this.#map.size; }

  get(key: string): Entry | undefined {
    return this.#map.get(key);
  }

  set(key: string, e: Entry): void {
    if (this.#map.has(key)) this.delete(key);
    if (this.#map.size >= this.#max) this.#evict(Math.max(1, this.#max >> 4));
    this.#map.set(key, e);
    for (const d of e.deps) {
      let s = this.#byDep.get(d);
      if (!s) this.#byDep.set(d, (s = new Set()));
      s.add(key);
    }
  }

  delete(key: string): void {
    const e = this.#map.get(key);
    if (!e) return;
    this.#map.delete(key);
    for (const d of e.deps) {
      const s = this.#byDep.get(d);
      if (s) { s.delete(key); if (s.size === 0) this.#byDep.delete(d); }
    }
  }

  /** Drops every entry that depends on `dep` (each handed to `onDrop` first). */
  invalidate(dep: string, onDrop?: (key: string, e: Entry) => void): number {
    const s = this.#byDep.get(dep);
    if (!s) return 0;
    const keys = [...s];
    for (const k of keys) { if (onDrop) onDrop(k, this.#map.get(k)!); this.delete(k); }
    return keys.length;
  }

  /** Every entry (for a caller about to clear). */
  entries(): IterableIterator<[string, Entry]> { return this.#map.entries(); }

  clear(): void {
    this.#map.clear();
    this.#byDep.clear();
  }

  #evict(n: number): void {
    for (const k of this.#map.keys()) {
      if (n-- <= 0) break;
      this.delete(k);
    }
  }
}
