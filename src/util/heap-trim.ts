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
  /** How long departures must have stopped before trimming. */
  quietMs?: number;
  /** Least time between two trims. */
  minGapMs?: number;
  /** The collector; defaults to node's exposed `gc` (absent without --expose-gc). */
  gc?: ((opts: { type: 'major'; execution: 'async'; flavor: 'last-resort' }) => unknown) | undefined;
  now?: () => number;
}

export interface HeapTrim { readonly trims: number; stop(): void }

/** Polls `departed()` (a monotonic count) every `quietMs` and trims as described above. */
export function startHeapTrim(departed: () => number, opts: HeapTrimOpts = {}): HeapTrim {
  const min = opts.min ?? 1000, quietMs = opts.quietMs ?? 1000, minGapMs = opts.minGapMs ?? 10_000;
  const gc = 'gc' in opts ? opts.gc : (globalThis as { gc?: HeapTrimOpts['gc'] }).gc;
  const now = opts.now ?? Date.now;
  let seen = departed(), atTrim = seen, lastTrim = -Infinity, trims = 0;
  const check = (): void => {
    const cur = departed();
    const quiet = cur === seen;
    seen = cur;
    if (!gc || !quiet || cur - atTrim < min || now() - lastTrim < minGapMs) return;
    atTrim = cur;
    lastTrim = now();
    trims++;
    void gc({ type: 'major', execution: 'async', flavor: 'last-resort' });
  };
  const timer = setInterval(check, quietMs);
  timer.unref();
  return { get trims() { return trims; }, stop: () => clearInterval(timer) };
}
