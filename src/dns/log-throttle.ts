/**
 * @module Errors counted, logged once per interval: the first occurrence of a kind is logged at
 * once, later ones within `intervalMs` are only counted, and the next line of that kind says how
 * many were suppressed. A flood of failing queries writes one line per interval, not one per query.
 */
import type { Logger } from '../log.ts';

type Level = 'warn' | 'error';

/** Per-kind throttled logging; `now` is injectable for tests (fake clocks). */
export class LogThrottle {
  readonly #log: Logger | undefined;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #kinds = new Map<string, { last: number; suppressed: number }>();
  /** Every occurrence, logged or not, per kind (for stats and tests). */
  readonly counts = new Map<string, number>();

  constructor(log: Logger | undefined, intervalMs = 10_000, now: () => number = Date.now) {
    this.#log = log; this.#intervalMs = intervalMs; this.#now = now;
  }

  /** Counts one occurrence of `msg`; logs it unless one was logged less than an interval ago. */
  note(level: Level, msg: string, fields?: Record<string, unknown>): void {
    this.counts.set(msg, (this.counts.get(msg) ?? 0) + 1);
    const t = this.#now();
    let k = this.#kinds.get(msg);
    if (k && t - k.last < this.#intervalMs) { k.suppressed++; return; }
    const suppressed = k?.suppressed ?? 0;
    if (!k) { k = { last: t, suppressed: 0 }; if (this.#kinds.size < 256) this.#kinds.set(msg, k); }
    k.last = t; k.suppressed = 0;
    this.#log?.[level](msg, suppressed ? { ...fields, suppressed, interval: `${this.#intervalMs / 1000}s` } : fields);
  }
}
