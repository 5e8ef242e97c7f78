/**
 * @module Runs a long synchronous job in time-bounded slices across event-loop turns, so that
 * nothing else (a DNS answer) waits behind it for longer than about one slice.
 */

/** How to slice: the time budget of one slice, the clock, and how to give the event loop a turn. */
export interface SliceOptions {
  /** Milliseconds of work per slice before yielding (default 2). */
  budgetMs?: number;
  /** The clock (ms); default performance.now. Injected by tests. */
  now?: () => number;
  /** Gives the event loop a turn; default setImmediate. */
  yieldTurn?: () => Promise<void>;
  /** Items done between two clock reads (default 64). */
  step?: number;
}

export const nextTurn = (): Promise<void> => new Promise(resolve => setImmediate(resolve));

/**
 * Calls `run(from, to)` over [0, total) in steps; after each step, once the slice has used its
 * budget, yields one event-loop turn. A slice always makes progress (at least one step), so the
 * whole job ends whatever the clock says. Returns the number of slices.
 */
export async function runSliced(total: number, run: (from: number, to: number) => void, opts: SliceOptions = {}): Promise<number> {
  const budget = opts.budgetMs ?? 2;
  const now = opts.now ?? (() => performance.now());
  const yieldTurn = opts.yieldTurn ?? nextTurn;
  const step = Math.max(1, opts.step ?? 64);
  let slices = 0;
  let i = 0;
  while (i < total) {
    const start = now();
    slices++;
    do {
      const to = Math.min(total, i + step);
      run(i, to);
      i = to;
    } while (i < total && now() - start < budget);
    if (i < total) await yieldTurn();
  }
  return slices;
}
