/**
 * @module Lease eviction and Eureka's self-preservation.
 *
 * Arithmetic (Eureka's PeerAwareInstanceRegistryImpl / AbstractInstanceRegistry):
 * threshold = int(leases × 60 s / expected_client_renewal_interval × renewal_percent_threshold)
 * renewals a minute; the renewals counted over the last `renewal_rate_window` (whole seconds,
 * Redis clock, every agent's) are scaled to a minute; lapsed leases are evicted only while that
 * rate is above the threshold (with self-preservation on), and each run evicts at most
 * `leases − int(leases × threshold%)` of them, chosen at random.
 *
 * Every agent computes the mode on each tick (so every agent reports it); one agent at a time, the
 * holder of a Redis lease, evicts.
 */
import type { EurekaConfig } from '../config/schema.ts';
import type { LeaseOps, LeaseState } from './leases.ts';

/** Renewals a minute below which eviction stops (Eureka's numberOfRenewsPerMinThreshold). */
export function renewalThreshold(leases: number, cfg: Pick<EurekaConfig, 'expectedClientRenewalIntervalMs' | 'renewalPercentThreshold'>): number {
  return Math.floor(leases * (60_000 / cfg.expectedClientRenewalIntervalMs) * cfg.renewalPercentThreshold);
}

/** Renewals of the whole seconds in (now − window, now], the current second excluded, scaled to a minute. */
export function renewalsPerMinute(buckets: ReadonlyMap<number, number>, nowMs: number, windowMs: number): number {
  const now = Math.floor(nowMs / 1000);
  const win = Math.max(1, Math.round(windowMs / 1000));
  let n = 0;
  for (const [s, c] of buckets) if (s >= now - win && s < now) n += c;
  return Math.round(n * 60 / win);
}

/** Whether lapsed leases may be evicted (Eureka's isLeaseExpirationEnabled, with no leases: nothing to protect). */
export function expirationEnabled(cfg: Pick<EurekaConfig, 'enableSelfPreservation'>, leases: number, threshold: number, perMin: number): boolean {
  if (!cfg.enableSelfPreservation || leases === 0) return true;
  return threshold > 0 && perMin > threshold;
}

/** Most leases one run may evict (Eureka's evictionLimit). */
export function evictionLimit(leases: number, pct: number): number {
  return leases - Math.floor(leases * pct);
}

/** Picks `n` of `items` at random (Fisher–Yates on a copy, as Eureka's random swap). */
export function pickRandom<T>(items: readonly T[], n: number, rnd: () => number = Math.random): T[] {
  const a = [...items];
  const k = Math.min(n, a.length);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rnd() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, k);
}

/** What /v1/agent/self, the metric and the log line report. */
export interface PreservationStatus {
  selfPreservation: boolean;
  leases: number;
  renewsThreshold: number;
  renewsLastMin: number;
  evicted: number;
}

export interface EvictorOpts {
  cfg: EurekaConfig;
  ops: LeaseOps;
  agent: string;
  /** Removes an evicted instance from the catalog (id, node). */
  evict: (id: string, node: string) => Promise<void>;
  log: { info(msg: string, f?: Record<string, unknown>): void; warn(msg: string, f?: Record<string, unknown>): void };
  rnd?: () => number;
}

export class Evictor {
  readonly #o: EvictorOpts;
  #status: PreservationStatus = { selfPreservation: false, leases: 0, renewsThreshold: 0, renewsLastMin: 0, evicted: 0 };
  #timer?: NodeJS.Timeout;
  #running = false;

  constructor(o: EvictorOpts) { this.#o = o; }

  get status(): PreservationStatus { return { ...this.#status }; }

  /** True while self-preservation holds eviction (and, with scope "all", Consul-side expiry). */
  get preserving(): boolean { return this.#status.selfPreservation; }

  /** Whether Consul-side expiry (TTL checks, DeregisterCriticalServiceAfter) must wait too. */
  get guardsConsul(): boolean { return this.#status.selfPreservation && this.#o.cfg.selfPreservationScope === 'all'; }

  start(): void {
    this.#timer = setInterval(() => void this.tick(), this.#o.cfg.evictionIntervalMs);
    this.#timer.unref();
  }

  stop(): void { clearInterval(this.#timer); }

  /** One round: reads the lease state, updates the mode, and (on the evictor lease's holder, when allowed) evicts. */
  async tick(): Promise<PreservationStatus> {
    if (this.#running) return this.status;
    this.#running = true;
    try {
      const { cfg, ops } = this.#o;
      const st: LeaseState = await ops.state(Math.ceil(cfg.renewalRateWindowMs / 1000), 10_000);
      const threshold = renewalThreshold(st.leases, cfg);
      const perMin = renewalsPerMinute(st.buckets, st.now, cfg.renewalRateWindowMs);
      const enabled = expirationEnabled(cfg, st.leases, threshold, perMin);
      this.#setMode(!enabled, st.leases, threshold, perMin);
      let evicted = 0;
      if (enabled && st.expired.size && await ops.hold(this.#o.agent, cfg.evictionIntervalMs * 3)) {
        const chosen = pickRandom([...st.expired.keys()], evictionLimit(st.leases, cfg.renewalPercentThreshold), this.#o.rnd);
        for (const id of chosen) {
          await this.#o.evict(id, st.expired.get(id)!);
          await ops.drop(id);
          evicted++;
        }
        if (evicted) this.#o.log.info('evicted lapsed Eureka leases', { evicted, lapsed: st.expired.size, leases: st.leases });
      }
      this.#status.evicted += evicted;
    } catch (err) {
      this.#o.log.warn('eureka eviction round failed', { err: (err as Error).message });
    } finally {
      this.#running = false;
    }
    return this.status;
  }

  #setMode(on: boolean, leases: number, threshold: number, perMin: number): void {
    const was = this.#status.selfPreservation;
    Object.assign(this.#status, { selfPreservation: on, leases, renewsThreshold: threshold, renewsLastMin: perMin });
    if (on === was) return;
    const f = { renews_last_min: perMin, renews_threshold: threshold, leases, scope: this.#o.cfg.selfPreservationScope };
    if (on) this.#o.log.warn('self-preservation mode ON: renewals below the threshold, lapsed leases are not evicted' + (this.#o.cfg.selfPreservationScope === 'all' ? ' and TTL/reap expiry is paused' : ''), f);
    else this.#o.log.info('self-preservation mode OFF: renewals recovered, eviction resumes', f);
  }
}
