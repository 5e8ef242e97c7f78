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
 * Calls `step()` until it returns true (done); once a slice has used its budget, yields one
 * event-loop turn. A slice always makes progress (at least one step). Returns the number of slices.
 */
export async function runSteps(step: () => boolean, opts: SliceOptions = {}): Promise<number> {
  const budget = opts.budgetMs ?? 2;
  const now = opts.now ?? (() => performance.now());
  const yieldTurn = opts.yieldTurn ?? nextTurn;
  let slices = 0;
  for (;;) {
    const start = now();
    slices++;
    let done: boolean;
    do done = step(); while (!done && now() - start < budget);
    if (done) return slices;
    await yieldTurn();
  }
}

/**
 * Calls `run(from, to)` over [0, total) in steps of `step` items, in time-bounded slices (runSteps).
 * Returns the number of slices.
 */
export async function runSliced(total: number, run: (from: number, to: number) => void, opts: SliceOptions = {}): Promise<number> {
  const step = Math.max(1, opts.step ?? 64);
  let i = 0;
  if (total <= 0) return 0;
  return runSteps(() => { const to = Math.min(total, i + step); run(i, to); i = to; return i >= total; }, opts);
}
