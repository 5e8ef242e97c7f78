/**
 * @module The check engine inside the agent: keeps BullMQ job schedulers in step with this
 * node's checks in the catalog, runs the in-process worker(s), evaluates alias checks and reaps
 * services that stayed critical longer than DeregisterCriticalServiceAfter.
 *
 * Invariant: after every reconcile, the schedulers under this node's prefix are exactly the
 * node's HTTP/TCP/UDP checks in the view, each with its own interval and current definition.
 * Several agents on one Redis each own the prefix of their node (scheduler id
 * `<node>/<checkID>`, both URI-encoded), so they never touch each other's schedulers.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RedisConnector } from '../store/connect.ts';
import type { CatalogView } from '../catalog/view.ts';
import type { CatalogStore } from '../store/catalog-store.ts';
import type { CheckRec } from '../catalog/model.ts';
import { parseDurationNs } from '../util/duration.ts';
import { CheckWorker, QUEUE } from './worker.ts';
import { StatusHandler, memberOf, thresholdsOf } from './status-handler.ts';
import { ScriptChecks } from './script.ts';
import { aliasResult } from './alias.ts';
import { DEFAULT_TIMEOUT_MS, type CheckJobData } from './types.ts';
import { logger } from '../log.ts';
import { checkTimings, overdueBy } from './lateness.ts';

const log = logger('agent.checks');

export interface EngineOptions {
  /** Creates the queue's and workers' connections (src/store/connect.ts). */
  connector: RedisConnector;
  store: CatalogStore;
  view: CatalogView;
  nodeName: string;
  /** In-process workers (0 = none: checks run in `roster worker` processes). */
  workers: number;
  concurrency: number;
  outputIntervalMs: number;
  /** How often services critical for too long are reaped. @defaultValue 30s (Consul's check_reap_interval) */
  reapIntervalMs?: number;
  /** Lower bound of DeregisterCriticalServiceAfter. @defaultValue 1m (Consul's check_deregister_interval_min) */
  deregisterMinMs?: number;
  /** How often the watchdog looks for overdue checks. @defaultValue 1s */
  overdueCheckMs?: number;
  /** Called before a reaped service is deregistered (the agent drops it from its local state). */
  onReap?: (serviceId: string) => void;
  /** Run this node's script checks here (enable_script_checks or enable_local_script_checks). @defaultValue false */
  scripts?: boolean;
  /** While true, nothing is reaped (Eureka's self-preservation with self_preservation_scope = "all"). */
  reapPaused?: () => boolean;
}

const SCHEDULED = new Set(['http', 'tcp', 'udp']);

function ms(d: string | undefined, dflt: number): number {
  if (!d) return dflt;
  try { const n = parseDurationNs(d) / 1e6; return n > 0 ? n : dflt; } catch { return dflt; }
}

/** The scheduler id of a check: `<node lower>/<checkID>`, URI-encoded (no ':' for BullMQ ids). */
export function schedulerId(node: string, checkId: string): string {
  return `${encodeURIComponent(node.toLowerCase())}/${encodeURIComponent(checkId)}`;
}

/** The job a check's scheduler produces, or null when the check is not run by workers. */
export function jobFor(c: CheckRec, outputIntervalMs: number): CheckJobData | null {
  if (!SCHEDULED.has(c.Type)) return null;
  const intervalMs = Math.max(1000, ms(c.Definition.Interval ?? c.Interval, 10_000));
  return { node: c.Node, checkId: c.CheckID, type: c.Type as CheckJobData['type'], def: c.Definition, intervalMs, timeoutMs: ms(c.Definition.Timeout, DEFAULT_TIMEOUT_MS), outputIntervalMs };
}

/** The agent's check engine; see the module comment for the invariant it keeps. */
export class CheckEngine {
  readonly o: EngineOptions;
  queue!: Queue<CheckJobData & { fp: string }>;
  workers: CheckWorker[] = [];
  readonly handler: StatusHandler;
  #qconn!: Redis;
  #known = new Map<string, string>();
  /** Check ID → its job, derived at ModifyIndex `mi`. */
  #jobs = new Map<string, { mi: number; id: string; job: CheckJobData & { fp: string } }>();
  #prefix: string;
  #running: Promise<void> | null = null;
  #again = false;
  #timer?: NodeJS.Timeout;
  #reapTimer?: NodeJS.Timeout;
  #criticalSince = new Map<string, number>();
  /** Check ID → when this engine first scheduled it (a check without runs is measured from there). */
  #since = new Map<string, number>();
  /** Checks marked overdue (critical with an "overdue" output) and not run since. */
  #overdue = new Set<string>();
  #watchTimer?: NodeJS.Timeout;
  #watching = false;
  #stopped = false;
  #onChange = (ch: { all: boolean; nodes: Set<string> }) => {
    if (ch.all || ch.nodes.has(this.o.nodeName.toLowerCase())) this.#kick();
    else if (this.#hasAlias) this.#kick();
  };
  #hasAlias = false;
  #scripts?: ScriptChecks;

  constructor(o: EngineOptions) {
    this.o = o;
    this.handler = new StatusHandler(o.store);
    this.#prefix = `${encodeURIComponent(o.nodeName.toLowerCase())}/`;
  }

  async start(): Promise<void> {
    if (this.o.scripts) this.#scripts = new ScriptChecks((c, r) => this.handler.report(c.Node, c.CheckID, thresholdsOf(c.Definition), r, this.o.outputIntervalMs));
    this.#qconn = this.o.connector.create('queue');
    this.#qconn.on('error', err => log.debug('queue redis error', { err: err.message }));
    this.queue = new Queue(QUEUE, { connection: this.#qconn, prefix: this.o.store.keys.bullPrefix });
    this.queue.on('error', err => log.debug('queue error', { err: (err as Error).message }));
    // What Redis already schedules for this node (from an earlier run of this agent).
    for (let start = 0; ; start += 1000) {
      const page = await this.queue.getJobSchedulers(start, start + 999, true);
      for (const s of page) if (s.key.startsWith(this.#prefix)) this.#known.set(s.key, (s.template?.data as { fp?: string } | undefined)?.fp ?? '');
      if (page.length < 1000) break;
    }
    for (let i = 0; i < this.o.workers; i++) {
      this.workers.push(new CheckWorker({ connector: this.o.connector, store: this.o.store, prefix: this.o.store.keys.bullPrefix, concurrency: this.o.concurrency }));
    }
    this.o.view.on('change', this.#onChange);
    await this.reconcile();
    this.#reapTimer = setInterval(() => void this.reap().catch(err => log.warn('reap failed', { err: (err as Error).message })), this.o.reapIntervalMs ?? 30_000);
    this.#reapTimer.unref();
    this.#watchTimer = setInterval(() => void this.watchOverdue().catch(err => log.debug('overdue watchdog failed', { err: (err as Error).message })), this.o.overdueCheckMs ?? 1000);
    this.#watchTimer.unref();
    log.info('check engine started', { scheduled: this.#known.size, workers: this.o.workers, concurrency: this.o.concurrency });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#scripts?.stop();
    this.o.view.off('change', this.#onChange);
    clearTimeout(this.#timer);
    clearInterval(this.#reapTimer);
    clearInterval(this.#watchTimer);
    await this.#running?.catch(() => {});
    await Promise.all(this.workers.map(w => w.close()));
    await this.queue?.close().catch(() => {});
    this.#qconn?.disconnect();
  }

  #kick(): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => { this.#timer = undefined; void this.reconcile(); }, 10);
  }

  /** Brings Redis scheduling in line with this node's checks; coalesces concurrent calls. */
  reconcile(): Promise<void> {
    if (this.#running) { this.#again = true; return this.#running; }
    this.#running = (async () => {
      do {
        this.#again = false;
        try { await this.#reconcileOnce(); } catch (err) { log.warn('check reconcile failed; retrying', { err: (err as Error).message }); setTimeout(() => this.#kick(), 1000).unref(); }
      } while (this.#again && !this.#stopped);
      this.#running = null;
    })();
    return this.#running;
  }

  async #reconcileOnce(): Promise<void> {
    const st = this.o.view.node(this.o.nodeName);
    const want = new Map<string, CheckJobData & { fp: string }>();
    const aliases: CheckRec[] = [];
    const scripts: CheckRec[] = [];
    const now = Date.now();
    const seenCritical = new Set<string>();
    for (const c of st?.checks.values() ?? []) {
      if (c.Type === 'alias') aliases.push(c);
      else if (c.Type === 'script') scripts.push(c);
      if (c.Definition.DeregisterCriticalServiceAfter && c.ServiceID) {
        if (c.Status === 'critical') {
          seenCritical.add(c.CheckID);
          if (!this.#criticalSince.has(c.CheckID)) {
            this.#criticalSince.set(c.CheckID, now);
            const k = `${memberOf(this.o.nodeName, c.CheckID)}|c`;
            const r = this.o.store.redis;
            void r.hsetnx(this.o.store.keys.checkState, k, now).then(() => r.hget(this.o.store.keys.checkState, k)).then(v => { if (v && this.#criticalSince.has(c.CheckID)) this.#criticalSince.set(c.CheckID, Number(v)); }).catch(() => {});
          }
        }
      }
      if (!SCHEDULED.has(c.Type)) continue;
      // Re-derive a check's job only when its record changed (ModifyIndex): a reconcile of a node with
      // 10,000 checks after one status change is then a pass of map lookups.
      let e = this.#jobs.get(c.CheckID);
      if (!e || e.mi !== c.ModifyIndex) {
        const job = jobFor(c, this.o.outputIntervalMs)!;
        e = { mi: c.ModifyIndex, id: schedulerId(c.Node, c.CheckID), job: { ...job, fp: `${job.type}|${job.intervalMs}|${job.timeoutMs}|${job.outputIntervalMs}|${JSON.stringify(c.Definition)}` } };
        this.#jobs.set(c.CheckID, e);
      }
      want.set(e.id, e.job);
    }
    for (const id of [...this.#criticalSince.keys()]) {
      if (!seenCritical.has(id)) {
        this.#criticalSince.delete(id);
        void this.o.store.redis.hdel(this.o.store.keys.checkState, `${memberOf(this.o.nodeName, id)}|c`).catch(() => {});
      }
    }
    if (this.#jobs.size > want.size) {
      for (const [id, e] of this.#jobs) {
        if (want.has(e.id)) continue;
        this.#jobs.delete(id); this.#since.delete(id); this.#overdue.delete(id);
        checkTimings.forget(this.o.nodeName, id);
      }
    }
    for (const id of this.#jobs.keys()) if (!this.#since.has(id)) this.#since.set(id, now);
    this.#hasAlias = aliases.length > 0;
    this.#scripts?.sync(scripts);
    const ups: [string, CheckJobData & { fp: string }][] = [];
    for (const [id, d] of want) if (this.#known.get(id) !== d.fp) ups.push([id, d]);
    const gone = [...this.#known.keys()].filter(id => !want.has(id));
    for (let i = 0; i < ups.length; i += 200) {
      await Promise.all(ups.slice(i, i + 200).map(async ([id, d]) => {
        const fresh = !this.#known.has(id);
        // First run at a random point within the interval (Consul staggers check starts).
        await this.queue.upsertJobScheduler(id, fresh ? { every: d.intervalMs, startDate: Date.now() + Math.floor(Math.random() * d.intervalMs) } : { every: d.intervalMs }, {
          name: 'check', data: d, opts: { removeOnComplete: true, removeOnFail: 100 },
        });
        this.#known.set(id, d.fp);
      }));
    }
    for (const id of gone) {
      await this.queue.removeJobScheduler(id);
      this.#known.delete(id);
      const checkId = decodeURIComponent(id.slice(id.indexOf('/') + 1));
      await this.handler.forget(this.o.nodeName, checkId).catch(() => {});
    }
    if (ups.length || gone.length) log.debug('check schedulers reconciled', { upserted: ups.length, removed: gone.length, total: this.#known.size });
    for (const c of aliases) await this.#evalAlias(c);
  }

  /**
   * The watchdog: a check with no run started within interval + timeout + 3 s of its last
   * scheduled run (workers dead, stopped or too slow) is overdue. Its lateness goes to the timing
   * registry, and it is marked critical with an output saying so, once, until a run reports again:
   * an unchecked check must not keep showing its last "passing".
   */
  async watchOverdue(now = Date.now()): Promise<string[]> {
    if (this.#watching || this.#stopped || this.o.store.redis.status !== 'ready' || this.#jobs.size === 0) return [];
    this.#watching = true;
    try {
      const entries = [...this.#jobs.entries()];
      const marked: string[] = [];
      for (let i = 0; i < entries.length; i += 1000) {
        const part = entries.slice(i, i + 1000);
        const slots = await this.o.store.redis.hmget(this.o.store.keys.checkState, ...part.map(([id]) => `${memberOf(this.o.nodeName, id)}|r`)); // bounded by the connection's redis_timeout
        for (let j = 0; j < part.length; j++) {
          const [id, e] = part[j]!;
          const by = overdueBy(now, Number(slots[j] ?? 0), this.#since.get(id) ?? now, e.job.intervalMs, e.job.timeoutMs);
          checkTimings.setOverdue(this.o.nodeName, id, by);
          if (by <= 0) { this.#overdue.delete(id); continue; }
          if (this.#overdue.has(id)) continue;
          this.#overdue.add(id);
          marked.push(id);
          const sec = (ms: number) => `${Math.round(ms / 100) / 10}s`;
          const last = Number(slots[j] ?? 0);
          const output = `Check is overdue: ${last ? `no run started since ${sec(now - last)} ago` : `not run since it was scheduled ${sec(now - (this.#since.get(id) ?? now))} ago`} (interval ${sec(e.job.intervalMs)}, timeout ${sec(e.job.timeoutMs)}); are the check workers running?`;
          log.warn('check is overdue; marking it critical', { check: id, overdue_ms: by });
          await this.o.store.updateCheck(this.o.nodeName, id, 'critical', output);
          // The next real result is written at once, not held back as an output-only change.
          await this.o.store.redis.hdel(this.o.store.keys.checkState, `${memberOf(this.o.nodeName, id)}|w`);
        }
      }
      return marked;
    } finally {
      this.#watching = false;
    }
  }

  async #evalAlias(c: CheckRec): Promise<void> {
    const target = this.o.view.node(c.Definition.AliasNode || this.o.nodeName);
    const r = aliasResult(c, target);
    if (r.status === c.Status && r.output === c.Output) return;
    await this.o.store.updateCheck(this.o.nodeName, c.CheckID, r.status, r.output);
  }

  /** Deregisters services with a check critical for longer than its DeregisterCriticalServiceAfter. */
  async reap(): Promise<string[]> {
    const st = this.o.view.node(this.o.nodeName);
    if (!st || this.o.reapPaused?.()) return [];
    const now = Date.now();
    const reaped: string[] = [];
    for (const [id, since] of this.#criticalSince) {
      const c = st.checks.get(id);
      if (!c || c.Status !== 'critical' || !c.ServiceID || reaped.includes(c.ServiceID)) continue;
      const after = Math.max(ms(c.Definition.DeregisterCriticalServiceAfter, 0), this.o.deregisterMinMs ?? 60_000);
      if (now - since < after) continue;
      this.o.onReap?.(c.ServiceID);
      const res = await this.o.store.deregister(this.o.nodeName, 'service', c.ServiceID);
      if (res.found) {
        reaped.push(c.ServiceID);
        log.info('Check for service has been critical for too long; deregistered service', { service: c.ServiceID, check: id });
      }
    }
    return reaped;
  }
}
