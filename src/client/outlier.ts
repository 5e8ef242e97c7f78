/**
 * @module Passive outlier detection: an instance that fails a request is ejected for a back-off
 * period that doubles with each consecutive failure (capped); one success clears its record.
 */

export interface EjectorOptions {
  /** First ejection. @defaultValue 1000 ms */ baseMs?: number;
  /** Longest ejection. @defaultValue 30000 ms */ maxMs?: number;
  now?: () => number;
}

/** Tracks consecutive failures per instance id and whether each is currently ejected. */
export class Ejector {
  readonly baseMs: number;
  readonly maxMs: number;
  #now: () => number;
  #state = new Map<string, { failures: number; until: number }>();

  constructor(o: EjectorOptions = {}) {
    this.baseMs = o.baseMs ?? 1000;
    this.maxMs = o.maxMs ?? 30_000;
    this.#now = o.now ?? Date.now;
  }

  /** Records a failure; returns the ejection length in ms (base × 2^(failures-1), capped at max). */
  fail(id: string): number {
    const s = this.#state.get(id) ?? { failures: 0, until: 0 };
    s.failures++;
    const ms = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(s.failures - 1, 30));
    s.until = this.#now() + ms;
    this.#state.set(id, s);
    return ms;
  }

  /** Records a success: the instance is back with a clean record. */
  succeed(id: string): void {
    if (this.#state.size) this.#state.delete(id);
  }

  isEjected(id: string): boolean {
    const s = this.#state.get(id);
    return s !== undefined && s.until > this.#now();
  }

  failures(id: string): number {
    return this.#state.get(id)?.failures ?? 0;
  }

  /**
   * The instances not ejected (and not in `exclude`). When every candidate is ejected, the ones whose
   * ejection ends soonest are returned instead (panic mode: better a likely-bad instance than none).
   */
  filter<T extends { id: string }>(list: readonly T[], exclude?: ReadonlySet<string>): T[] {
    const cands = exclude?.size ? list.filter(i => !exclude.has(i.id)) : list;
    if (this.#state.size === 0) return cands as T[];
    const ok = cands.filter(i => !this.isEjected(i.id));
    if (ok.length || cands.length === 0) return ok;
    let soonest = Infinity;
    for (const i of cands) soonest = Math.min(soonest, this.#state.get(i.id)!.until);
    return cands.filter(i => this.#state.get(i.id)!.until === soonest);
  }

  /** Drops records of instances that no longer exist. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.#state.keys()) if (!ids.has(id)) this.#state.delete(id);
  }
}
