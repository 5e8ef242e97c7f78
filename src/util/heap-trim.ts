/**
 * @module Gives memory back to the OS after many blocking queries leave at once.
 *
 * When thousands of parked watchers are answered or hang up together, V8 frees their pages but keeps
 * them in its page pool, resident, and a later round of watchers does not reuse all of them: RSS
 * climbs from round to round although the JS heap does not (measured: bench/scale/park.ts). A
 * memory-reducing ("last-resort") collection releases that pool. This runs one, on the next tick of
 * the event loop, once the departures have stopped for a while, at most every `minGapMs`. It needs
 * the `gc` function node exposes with --expose-gc (bin/roster starts the agent with it); without it
 * this does nothing.
 */
export interface HeapTrimOpts {
  /** Departures (released waiters) since the last trim that make one worth it. */
  min?: number;
  /** How long departures must have stopped before trimming (also the polling period). */
  quietMs?: number;
  /** Least time between two trims. */
  minGapMs?: number;
  /** The collector; defaults to node's exposed `gc` (absent without --expose-gc). */
  gc?: ((opts: { type: 'major'; execution: 'async'; flavor: 'last-resort' }) => unknown) | undefined;
}

/** When to trim, from a monotonic departure count sampled every quiet period. */
export class TrimPolicy {
  readonly min: number;
  readonly minGapMs: number;
  #seen: number;
  #atTrim: number;
  #lastTrim = -Infinity;

  constructor(departed: number, min = 1000, minGapMs = 10_000) {
    this.min = min;
    this.minGapMs = minGapMs;
    this.#seen = this.#atTrim = departed;
  }

  /** One sample: true when departures stopped since the last sample, `min` left since the last trim, and the gap is respected. */
  tick(departed: number, now: number): boolean {
    const quiet = departed === this.#seen;
    this.#seen = departed;
    if (!quiet || departed - this.#atTrim < this.min || now - this.#lastTrim < this.minGapMs) return false;
    this.#atTrim = departed;
    this.#lastTrim = now;
    return true;
  }
}

export interface HeapTrim { readonly trims: number; stop(): void }

/** Samples `departed()` (a monotonic count) every `quietMs` and trims as TrimPolicy says. */
export function startHeapTrim(departed: () => number, opts: HeapTrimOpts = {}): HeapTrim {
  const gc = 'gc' in opts ? opts.gc : (globalThis as { gc?: HeapTrimOpts['gc'] }).gc;
  const policy = new TrimPolicy(departed(), opts.min, opts.minGapMs);
  let trims = 0;
  const timer = setInterval(() => {
    if (!gc || !policy.tick(departed(), Date.now())) return;
    trims++;
    void gc({ type: 'major', execution: 'async', flavor: 'last-resort' });
  }, opts.quietMs ?? 1000);
  timer.unref();
  return { get trims() { return trims; }, stop: () => clearInterval(timer) };
}
