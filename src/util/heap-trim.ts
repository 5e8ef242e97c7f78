/**
 * @module Gives memory back to the OS after many blocking queries leave at once.
 *
 * When thousands of parked watchers are answered or hang up together, V8 frees their pages but keeps
 * them in its page pool, resident, and a later round of watchers does not reuse all of them: RSS
 * climbs from round to round although the JS heap does not (measured: bench/scale/park.ts). A
 * memory-reducing ("last-resort") collection releases that pool. This runs one, in a task of its own,
 * once many parked watchers have gone and departures have stopped (see TrimPolicy). One costs about
 * a full collection (140-240 ms with an 88 MB heap on the benchmark machine), hence the limits. It needs
 * the `gc` function node exposes with --expose-gc (bin/roster starts the agent with it); without it
 * this does nothing.
 */
export interface HeapTrimOpts {
  /** Departures (released waiters) since the last trim, and drop of the parked count below its peak, that make one worth it (default 1,000). */
  min?: number;
  /** How long departures must have stopped before trimming (also the polling period). */
  quietMs?: number;
  /** Least time between two trims (default 5 s). */
  minGapMs?: number;
  /** The collector; defaults to node's exposed `gc` (absent without --expose-gc). */
  gc?: ((opts: { type: 'major'; execution: 'async'; flavor: 'last-resort' }) => unknown) | undefined;
  /** Called with the counts when a trim starts (the agent logs it). */
  onTrim?: (released: number, waiting: number) => void;
}

/**
 * When to trim, from samples taken every quiet period: the monotonic count of released waiters and
 * how many are parked now. Trims when releases stopped since the last sample, at least `min` were
 * released since the last trim, the parked population is at least `min` below its peak since then
 * (watchers answered and parked again keep their connections: no trim), and `minGapMs` passed.
 */
export class TrimPolicy {
  readonly min: number;
  readonly minGapMs: number;
  #seen: number;
  #atTrim: number;
  #peak = 0;
  #lastTrim = -Infinity;

  constructor(departed: number, min = 1000, minGapMs = 5000) {
    this.min = min;
    this.minGapMs = minGapMs;
    this.#seen = this.#atTrim = departed;
  }

  /** One sample; true when a trim is due now. */
  tick(departed: number, waiting: number, now: number): boolean {
    const quiet = departed === this.#seen;
    this.#seen = departed;
    this.#peak = Math.max(this.#peak, waiting);
    if (!quiet || departed - this.#atTrim < this.min || this.#peak - waiting < this.min || now - this.#lastTrim < this.minGapMs) return false;
    this.#atTrim = departed;
    this.#peak = waiting;
    this.#lastTrim = now;
    return true;
  }
}

export interface HeapTrim { readonly trims: number; stop(): void }

/** Samples the notifier's counts every `quietMs` and trims as TrimPolicy says. */
export function startHeapTrim(counts: { readonly released: number; readonly waiting: number }, opts: HeapTrimOpts = {}): HeapTrim {
  const gc = 'gc' in opts ? opts.gc : (globalThis as { gc?: HeapTrimOpts['gc'] }).gc;
  const policy = new TrimPolicy(counts.released, opts.min, opts.minGapMs);
  let trims = 0;
  const timer = setInterval(() => {
    if (!gc || !policy.tick(counts.released, counts.waiting, Date.now())) return;
    trims++;
    opts.onTrim?.(counts.released, counts.waiting);
    void gc({ type: 'major', execution: 'async', flavor: 'last-resort' });
  }, opts.quietMs ?? 1000);
  timer.unref();
  return { get trims() { return trims; }, stop: () => clearInterval(timer) };
}
