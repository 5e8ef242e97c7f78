/**
 * @module A BullMQ worker that runs checks: the agent runs one in-process (unless
 * `-checks-workers 0`), and `roster worker` runs the same code in its own process.
 *
 * Each job is one scheduled iteration of one check (job id `repeat:<scheduler>:<ms>`). The worker
 * claims the iteration in Redis first (StatusHandler.claim), so a stalled job that BullMQ hands
 * out again after its worker died, or an iteration that fires while the previous run is still
 * in flight, is skipped: a check never runs twice at once and no iteration runs twice.
 *
 * A BullMQ job of a check known to be quick (its last probe here took at most DETACH_AFTER_MS)
 * keeps its slot for at most DETACH_AFTER_MS of its probe; a probe still running then, or any probe
 * of a check not known to be quick, goes on detached, bounded by its own timeout, and reports when
 * it ends. A target that turns silent thus holds a slot once, for 200 ms. So targets that never
 * answer cannot hold the slots healthy checks need, while quick probes keep the job for their whole
 * run. Probes in flight are bounded by `maxInFlight` (at most one per check, by the claim); past
 * it, dispatching waits.
 */
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RedisConnector } from '../store/connect.ts';
import { randomUUID } from 'node:crypto';
import type { CatalogStore } from '../store/catalog-store.ts';
import { StatusHandler, thresholdsOf } from './status-handler.ts';
import { runOnce } from './runners/index.ts';
import type { CheckJobData } from './types.ts';
import { logger } from '../log.ts';
import { checkTimings } from './lateness.ts';
import { M } from '../util/metrics/index.ts';
import { openFilesLimit } from '../util/open-files.ts';

const log = logger('checks.worker');

/** The BullMQ queue name under keys.bullPrefix. */
export const QUEUE = 'checks';

/**
 * Lock and stalled-check timing: a job whose worker died is seen as stalled after at most
 * lockDuration + stalledInterval. The next iteration of the check is already scheduled when a run
 * starts, so the check itself keeps running on schedule on the surviving workers regardless.
 */
export const LOCK_DURATION_MS = 8_000;
export const STALLED_INTERVAL_MS = 4_000;

/**
 * A job waits this long for its probe; a probe still running then (a slow or silent target) goes
 * on detached, so no target holds a worker slot for longer than this, whatever its timeout.
 */
export const DETACH_AFTER_MS = 200;

/** Workers renew their liveness mark this often; a lapsed mark frees their run locks. */
export const HEARTBEAT_MS = 500;
export const HEARTBEAT_TTL_MS = 2_000;

export interface WorkerStats {
  /** Runs completed since the last snapshot. */
  runs: number;
  skipped: number;
  /** Lateness samples (ms): start time minus scheduled time. */
  lateness: number[];
}

export interface CheckWorkerOptions {
  /** Creates the BullMQ workers' connection (src/store/connect.ts). */
  connector: RedisConnector;
  store: CatalogStore;
  prefix: string;
  concurrency: number;
  /** BullMQ fetch loops in this process. @defaultValue concurrency/10, 1..4 */
  loops?: number;
  /** Probes in flight at once in this process. @defaultValue defaultMaxInFlight() */
  maxInFlight?: number;
  /** Called after each run with the check and its result (tests, benchmarks). */
  onRun?: (d: CheckJobData, status: string, latenessMs: number) => void;
}

/** Scheduled time (ms) of a scheduler job, from its id `repeat:<scheduler>:<ms>`. */
export function slotOf(job: Job): number {
  const id = job.id ?? '';
  const n = Number(id.slice(id.lastIndexOf(':') + 1));
  return Number.isFinite(n) && n > 0 ? n : job.timestamp + (job.opts.delay ?? 0);
}

/**
 * Default cap on probes in flight: half the process's open-file soft limit (each probe holds one
 * socket), between 64 and 4,096.
 */
export function defaultMaxInFlight(): number {
  const { soft: limit } = openFilesLimit();
  const soft = limit === 0 ? 1024 : Math.min(limit, 1 << 20);
  return Math.max(64, Math.min(4096, Math.floor(soft / 2)));
}

/** One process's check runner: BullMQ fetch loops + claim → run → report, with a liveness heartbeat. */
export class CheckWorker {
  readonly stats: WorkerStats = { runs: 0, skipped: 0, lateness: [] };
  #workers: Worker[] = [];
  #conn: Redis;
  #handler: StatusHandler;
  #hb: NodeJS.Timeout;
  readonly id = randomUUID();
  readonly maxInFlight: number;
  /** Probes running now (detached from their BullMQ jobs). */
  readonly inFlight = new Set<Promise<void>>();
  #waiters: (() => void)[] = [];
  #stop = new AbortController();
  /** Checks whose last probe here took at most DETACH_AFTER_MS (bounded: cleared past 100,000). */
  #fast = new Set<string>();

  constructor(o: CheckWorkerOptions) {
    this.maxInFlight = o.maxInFlight ?? defaultMaxInFlight();
    this.#handler = new StatusHandler(o.store);
    const beat = () => void this.#handler.heartbeat(this.id, HEARTBEAT_TTL_MS).catch(() => {});
    beat();
    this.#hb = setInterval(beat, HEARTBEAT_MS);
    setTimeout(() => void this.#handler.pruneWorkers().catch(() => {}), 3 * HEARTBEAT_TTL_MS).unref();
    this.#conn = o.connector.create('queue');
    this.#conn.on('error', err => log.debug('worker redis error', { err: err.message }));
    // BullMQ fetches a worker's jobs one at a time (two Redis round trips each: move to active, schedule
    // the next iteration), which caps one Worker near 1,000 jobs/s on loopback whatever its concurrency.
    // Several fetch loops in one process lift that cap; they share the connection and the concurrency.
    const loops = o.loops ?? Math.max(1, Math.min(4, Math.floor(o.concurrency / 10)));
    const per = Math.max(1, Math.ceil(o.concurrency / loops));
    for (let i = 0; i < loops; i++) {
      const w = new Worker<CheckJobData>(QUEUE, async job => this.#process(job, o), {
        connection: this.#conn, prefix: o.prefix, concurrency: per,
        lockDuration: LOCK_DURATION_MS, stalledInterval: STALLED_INTERVAL_MS, maxStalledCount: 1,
        removeOnComplete: { count: 0 }, removeOnFail: { count: 100 }, drainDelay: 1,
      });
      w.on('error', err => log.debug('worker error', { err: err.message }));
      w.on('failed', (job, err) => log.debug('check job failed', { job: job?.id, err: err.message }));
      this.#workers.push(w);
    }
  }

  async #process(job: Job<CheckJobData>, o: CheckWorkerOptions): Promise<string> {
    const d = job.data;
    const slot = slotOf(job);
    const started = Date.now();
    const claimed = await this.#handler.claim(d.node, d.checkId, slot, d.timeoutMs + 2000, this.id);
    if (claimed !== 1) {
      this.stats.skipped++;
      if (claimed === 0) log.info('skipped a check iteration that already ran (redelivered stalled job)', { check: d.checkId, job: job.id });
      return claimed === 0 ? 'duplicate' : 'in-flight';
    }
    const lateness = started - slot;
    checkTimings.recordRun(d.node, d.checkId, lateness, started);
    M.checkRuns.with(d.type).inc();
    M.checkLateness.with().observe(Math.max(0, lateness) / 1000);
    // Wait for room among the probes in flight (bounded: at most this worker's BullMQ concurrency waits).
    while (this.inFlight.size >= this.maxInFlight && !this.#stop.signal.aborted) await new Promise<void>(r => this.#waiters.push(r));
    if (this.#stop.signal.aborted) return 'stopped';
    const key = `${d.node}\0${d.checkId}`;
    const t0 = Date.now();
    const run = this.#run(d, lateness, o).finally(() => {
      this.inFlight.delete(run);
      this.#waiters.shift()?.();
      // Remember which checks are quick: only their runs keep their job (a check not known to be quick holds no slot).
      if (Date.now() - t0 <= DETACH_AFTER_MS) { if (this.#fast.size >= 100_000) this.#fast.clear(); this.#fast.add(key); } else this.#fast.delete(key);
    });
    this.inFlight.add(run);
    if (!this.#fast.has(key)) return 'detached';
    // A probe of a quick check (a healthy target: milliseconds) keeps its job for its whole run, as BullMQ
    // expects; one still running after DETACH_AFTER_MS goes on detached, bounded by its own timeout.
    let t: NodeJS.Timeout | undefined;
    const detached = await Promise.race([run.then(() => false), new Promise<boolean>(r => { t = setTimeout(() => r(true), DETACH_AFTER_MS); })]);
    clearTimeout(t);
    return detached ? 'detached' : 'done';
  }

  /** One probe and its report; bounded by the check's timeout. Never throws. */
  async #run(d: CheckJobData, lateness: number, o: CheckWorkerOptions): Promise<void> {
    const r = await runOnce(d.type, d.def, d.timeoutMs, this.#stop.signal);
    if (this.#stop.signal.aborted) return; // shutting down: the run lock lapses with this worker's heartbeat
    try {
      await this.#handler.report(d.node, d.checkId, thresholdsOf(d.def), r, d.outputIntervalMs);
    } catch (err) {
      log.debug('check report failed', { check: d.checkId, err: (err as Error).message });
      return;
    }
    this.stats.runs++;
    M.checkResults.with(r.status).inc();
    if (this.stats.lateness.length < 200_000) this.stats.lateness.push(lateness);
    o.onRun?.(d, r.status, lateness);
  }

  /** Returns and resets the counters since the last call. */
  snapshot(): WorkerStats {
    const s = { runs: this.stats.runs, skipped: this.stats.skipped, lateness: this.stats.lateness };
    this.stats.runs = 0; this.stats.skipped = 0; this.stats.lateness = [];
    return s;
  }

  async close(): Promise<void> {
    clearInterval(this.#hb);
    this.#stop.abort();
    for (const w of this.#waiters.splice(0)) w();
    await Promise.all(this.#workers.map(w => w.close().catch(() => {})));
    await Promise.all([...this.inFlight]);
    await this.#handler.heartbeat(this.id, 0).catch(() => {});
    this.#conn.disconnect();
  }
}
