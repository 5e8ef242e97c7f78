/** @module Lamport clock (serf/lamport.go). */

/** A Lamport clock: `time()` reads, `increment()` ticks, `witness(v)` moves past a seen value. */
export class LamportClock {
  #counter = 0;
  /** Current value. */
  time(): number { return this.#counter; }
  /** Adds one and returns the new value. */
  increment(): number { return ++this.#counter; }
  /** If `v ≥ current`, sets current to `v + 1`. */
  witness(v: number): void {
    if (v >= this.#counter) this.#counter = v + 1;
  }
}
