/**
 * @module Lifeguard pieces: suspicion timers that shrink with independent confirmations, and the
 * local health ("awareness") score that stretches probe intervals (memberlist suspicion.go,
 * awareness.go; Dadgar et al., "Lifeguard", 2018).
 */

/** Minimum suspicion timeout: `mult × max(1, log10(max(1, n))) × interval` (ms). */
export function suspicionTimeout(suspicionMult: number, n: number, intervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  // Go keeps three decimals of precision here; do the same so timings match.
  return Math.floor((suspicionMult * Math.floor(nodeScale * 1000) * intervalMs) / 1000);
}

/**
 * Time left (ms) after `c` confirmations out of `k` expected:
 * `max − (ln(c+1)/ln(k+1))·(max−min)`, floored to whole ms, never below `min`, minus `elapsed`.
 */
export function remainingSuspicionTime(c: number, k: number, elapsedMs: number, minMs: number, maxMs: number): number {
  const frac = Math.log(c + 1) / Math.log(k + 1);
  const raw = maxMs / 1000 - frac * (maxMs / 1000 - minMs / 1000);
  let timeout = Math.floor(1000 * raw);
  if (timeout < minMs) timeout = minMs;
  return timeout - elapsedMs;
}

/** A running suspicion timer for one node. */
export class Suspicion {
  readonly k: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly start: number;
  #n = 0;
  #confirmations = new Set<string>();
  #timer: NodeJS.Timeout | null;
  #fired = false;
  #fn: (confirmations: number) => void;
  #now: () => number;

  /**
   * Starts the timer: `min` if no confirmations are expected (`k < 1`), else `max`.
   * `from` (the accuser) never counts as a confirmation.
   */
  constructor(from: string, k: number, minMs: number, maxMs: number, fn: (confirmations: number) => void, now: () => number = Date.now) {
    this.k = k; this.minMs = minMs; this.maxMs = maxMs; this.#fn = fn; this.#now = now;
    this.#confirmations.add(from);
    const timeout = k < 1 ? minMs : maxMs;
    this.#timer = setTimeout(() => this.#fire(), timeout);
    this.start = now();
  }

  /** Confirmations counted so far. */
  get confirmations(): number { return this.#n; }

  #fire(): void {
    if (this.#fired) return;
    this.#fired = true; this.#timer = null;
    this.#fn(this.#n);
  }

  /**
   * Registers an independent accusation. Returns true if it was new (caller re-gossips it) and
   * reschedules the deadline; fires immediately if the new deadline has already passed.
   */
  confirm(from: string): boolean {
    if (this.#fired || this.#n >= this.k) return false;
    if (this.#confirmations.has(from)) return false;
    this.#confirmations.add(from);
    this.#n++;
    const remaining = remainingSuspicionTime(this.#n, this.k, this.#now() - this.start, this.minMs, this.maxMs);
    if (this.#timer) clearTimeout(this.#timer);
    if (remaining > 0) this.#timer = setTimeout(() => this.#fire(), remaining);
    else { this.#timer = null; queueMicrotask(() => this.#fire()); }
    return true;
  }

  /** Cancels the timer (node refuted or declared dead some other way). */
  stop(): void {
    this.#fired = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** Lifeguard local health score in [0, max−1]; scales timeouts by (score+1). */
export class Awareness {
  readonly max: number;
  #score = 0;
  constructor(max: number) { this.max = max; }
  applyDelta(delta: number): void {
    this.#score = Math.min(this.max - 1, Math.max(0, this.#score + delta));
  }
  get score(): number { return this.#score; }
  scaleTimeout(ms: number): number { return ms * (this.#score + 1); }
}
