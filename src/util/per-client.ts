/** @module Connections (or waits) counted per client address, for the HTTP and DNS-over-TCP per-client caps. */

/** Counts per client key; `enter` refuses past the limit (0 = unlimited). */
export class PerClient {
  #n = new Map<string, number>();
  readonly max: number;
  constructor(max: number) { this.max = max; }
  enter(key: string): boolean {
    const n = this.#n.get(key) ?? 0;
    if (this.max > 0 && n >= this.max) return false;
    this.#n.set(key, n + 1);
    return true;
  }
  leave(key: string): void {
    const n = (this.#n.get(key) ?? 0) - 1;
    if (n <= 0) this.#n.delete(key); else this.#n.set(key, n);
  }
  count(key: string): number { return this.#n.get(key) ?? 0; }
}
