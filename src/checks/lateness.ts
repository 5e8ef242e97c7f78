/**
 * @module Per-check run timing: how late each check's runs start, and which checks are overdue.
 *
 * Workers record every run's lateness (start minus scheduled time); the engine's watchdog records
 * checks whose runs are overdue (no run started for longer than `overdueBoundMs`). The registry is
 * process-wide (`checkTimings`), bounded by the number of checks (entries are dropped with their
 * check), and is what a metrics endpoint reads (`snapshot()`).
 */

/** Timing of one check, as seen by this process. */
export interface CheckTiming {
  /** Runs started by this process's workers. */
  runs: number;
  /** Lateness of the last run and the largest seen (ms). */
  lastLatenessMs: number;
  maxLatenessMs: number;
  /** Wall-clock ms of the last run start recorded here (0 = none). */
  lastRunAt: number;
  /** ms past its bound when the watchdog last saw it overdue; 0 = on time. */
  overdueMs: number;
}

/** Grace added to a check's own bound before it is declared overdue: a dead worker's run lock lapses in 2 s. */
export const OVERDUE_GRACE_MS = 3_000;

/**
 * The longest a check may go without a run starting, from its last scheduled run: one interval,
 * plus its timeout (the previous run may have used all of it), plus the grace.
 */
export function overdueBoundMs(intervalMs: number, timeoutMs: number): number {
  return intervalMs + timeoutMs + OVERDUE_GRACE_MS;
}

/**
 * How far past its bound a check is at `now` (ms; ≤ 0 = on time). `lastSlot` is the scheduled time
 * of the last run that started (0 = none yet), `since` when this engine first scheduled the check
 * (at its start, or when the check was registered). The first run is staggered within one interval,
 * so the clock starts at the later of the last run and `since` + one interval: an agent restarted
 * after a long stop does not mark its checks overdue before they had a chance to run.
 */
export function overdueBy(now: number, lastSlot: number, since: number, intervalMs: number, timeoutMs: number): number {
  const from = Math.max(lastSlot, since + intervalMs);
  return now - from - overdueBoundMs(intervalMs, timeoutMs);
}

/** Per-check timings, keyed `<node lower>/<checkID>`. */
export class TimingRegistry {
  readonly #m = new Map<string, CheckTiming>();

  #get(key: string): CheckTiming {
    let e = this.#m.get(key);
    if (!e) { e = { runs: 0, lastLatenessMs: 0, maxLatenessMs: 0, lastRunAt: 0, overdueMs: 0 }; this.#m.set(key, e); }
    return e;
  }

  /** A run of the check started `latenessMs` after its scheduled time. */
  recordRun(node: string, checkId: string, latenessMs: number, at: number): void {
    const e = this.#get(`${node.toLowerCase()}/${checkId}`);
    e.runs++;
    e.lastLatenessMs = latenessMs;
    e.maxLatenessMs = Math.max(e.maxLatenessMs, latenessMs);
    e.lastRunAt = at;
    e.overdueMs = 0;
  }

  /** The watchdog's verdict for a check: overdue by `ms` (0 = on time). */
  setOverdue(node: string, checkId: string, ms: number): void {
    const key = `${node.toLowerCase()}/${checkId}`;
    if (ms <= 0 && !this.#m.has(key)) return;
    this.#get(key).overdueMs = Math.max(0, ms);
  }

  forget(node: string, checkId: string): void {
    this.#m.delete(`${node.toLowerCase()}/${checkId}`);
  }

  get(node: string, checkId: string): CheckTiming | undefined {
    return this.#m.get(`${node.toLowerCase()}/${checkId}`);
  }

  /** A copy of every check's timing (for a metrics endpoint). */
  snapshot(): Record<string, CheckTiming> {
    return Object.fromEntries([...this.#m].map(([k, v]) => [k, { ...v }]));
  }

  get size(): number { return this.#m.size; }
}

/** This process's registry: workers and the engine's watchdog write it; a metrics endpoint reads it. */
export const checkTimings = new TimingRegistry();
