/**
 * @module Anti-entropy scheduling, as Consul's agent/ae StateSyncer: a full sync every
 * `interval + stagger(interval)` where the stagger is random in [0, scale × interval) and the
 * scale grows with the cluster (1 up to 128 nodes, then +1 per doubling: 2 at 256, 8 at 8,192),
 * so a large cluster does not sync in lock step; a failed sync is retried after
 * 15 s + stagger(15 s); `trigger()` asks for a sync now (on-demand: the catalog lost or changed
 * something the agent owns). Syncs never overlap: a trigger during a sync runs one more after it.
 *
 * Timers and randomness are injected so the schedule is tested with a fake clock.
 */

/** Consul's aeScaleThreshold: sync runs spread out past this many nodes. */
export const SCALE_THRESHOLD = 128;
/** Consul's retryFailIntv. */
export const RETRY_FAIL_MS = 15_000;

/** Consul's scaleFactor: 1 up to 128 nodes, then ceil(log2(n) - log2(128)) + 1. */
export function scaleFactor(nodes: number): number {
  if (nodes <= SCALE_THRESHOLD) return 1;
  return Math.ceil(Math.log2(nodes) - Math.log2(SCALE_THRESHOLD)) + 1;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
}

export interface AntiEntropyOptions {
  /** Full sync interval (Consul's ae_interval). @defaultValue 60 s */
  intervalMs: number;
  /** Cluster size (gossip members), read at each scheduling. */
  clusterSize: () => number;
  /** One full sync; throws when it failed. */
  sync: () => Promise<void>;
  /** Called when a sync failed (logging). */
  onError?: (err: Error) => void;
  random?: () => number;
  timers?: Timers;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => { const t = setTimeout(fn, ms); t.unref(); return t; },
  clearTimeout: t => clearTimeout(t as NodeJS.Timeout),
};

/** Runs `sync` periodically (staggered by cluster size), on demand, and again after failures. */
export class AntiEntropy {
  readonly o: AntiEntropyOptions;
  #timer: unknown;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = true;
  /** Completed syncs (successful or not). */
  runs = 0;
  failures = 0;

  constructor(o: AntiEntropyOptions) {
    this.o = o;
  }

  #t(): Timers { return this.o.timers ?? realTimers; }

  /** Random in [0, scale × d), as Consul's staggerFn. */
  stagger(d: number): number {
    return Math.floor((this.o.random ?? Math.random)() * scaleFactor(this.o.clusterSize()) * d);
  }

  /** Delay until the next periodic full sync. */
  nextDelay(): number {
    return this.o.intervalMs + this.stagger(this.o.intervalMs);
  }

  /** Starts the periodic schedule (the first full sync after one staggered interval). */
  start(): void {
    this.#stopped = false;
    this.#arm(this.nextDelay());
  }

  stop(): void {
    this.#stopped = true;
    this.#t().clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Syncs now (or right after the sync in progress); resolves when that sync is done. */
  trigger(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running) { this.#again = true; return this.#running; }
    this.#t().clearTimeout(this.#timer);
    this.#running = this.#loop();
    return this.#running;
  }

  async #loop(): Promise<void> {
    let ok = true;
    do {
      this.#again = false;
      try {
        await this.o.sync();
        ok = true;
      } catch (err) {
        ok = false;
        this.failures++;
        this.o.onError?.(err as Error);
      }
      this.runs++;
    } while (this.#again && !this.#stopped);
    this.#running = null;
    if (!this.#stopped) this.#arm(ok ? this.nextDelay() : RETRY_FAIL_MS + this.stagger(RETRY_FAIL_MS));
  }

  #arm(ms: number): void {
    const t = this.#t();
    t.clearTimeout(this.#timer);
    this.#timer = t.setTimeout(() => { this.#timer = undefined; void this.trigger(); }, ms);
  }
}
