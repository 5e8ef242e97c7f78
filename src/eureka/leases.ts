/**
 * @module Eureka leases in Redis: one deadline per instance (Redis clock), shared by every agent,
 * so a client may register on one agent and renew on another. Renewals are also counted per second
 * (Redis clock) for self-preservation. Every call goes through the agent's command connection,
 * which carries the redis_timeout deadline.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../store/keys.ts';
import { defineScript, type ScriptFn } from '../store/script.ts';

// Scripts: src/store/scripts/eureka*-4.lua. KEYS: leases, durations, renews, evictor; ARGV[1] = prefix (unused), then the script's own.

/** What one eviction round reads, in one atomic step. */
export interface LeaseState {
  /** Redis time, ms. */
  now: number;
  /** Leases registered. */
  leases: number;
  /** Renewals per second (Redis seconds) still within the window. */
  buckets: Map<number, number>;
  /** Lapsed leases: instance id → node. */
  expired: Map<string, string>;
}

/** The lease operations eviction needs (a fake in unit tests). */
export interface LeaseOps {
  state(windowSec: number, max: number): Promise<LeaseState>;
  drop(id: string): Promise<boolean>;
  hold(agent: string, ms: number): Promise<boolean>;
}

export class LeaseStore implements LeaseOps {
  #grant: ScriptFn; #renew: ScriptFn; #drop: ScriptFn; #state: ScriptFn; #hold: ScriptFn;
  readonly redis: Redis;
  readonly keys: Keys;

  constructor(redis: Redis, keys: Keys) {
    this.redis = redis;
    this.keys = keys;
    const k = [keys.eurekaLeases, keys.eurekaLeaseDur, keys.eurekaRenews, keys.eurekaEvictor];
    const def = (file: string) => defineScript(redis, file, k, { prefix: keys.prefix });
    this.#grant = def('eurekaGrant-4.lua');
    this.#renew = def('eurekaRenew-4.lua');
    this.#drop = def('eurekaDrop-4.lua');
    this.#state = def('eurekaState-4.lua');
    this.#hold = def('eurekaHold-4.lua');
  }

  /** Starts (or restarts) an instance's lease of `ms`. */
  async grant(id: string, node: string, ms: number): Promise<void> { await this.#grant(id, node, ms); }

  /** Extends a lease by its duration; false when there is none (the client re-registers). */
  async renew(id: string): Promise<boolean> { return (await this.#renew(id)) === 1; }

  async drop(id: string): Promise<boolean> { return (await this.#drop(id)) === 1; }

  async state(windowSec: number, max: number): Promise<LeaseState> {
    const [now, leases, flat, exp] = await this.#state(windowSec, max) as [number, number, string[], string[]];
    const buckets = new Map<number, number>();
    for (let i = 0; i < flat.length; i += 2) buckets.set(Number(flat[i]), Number(flat[i + 1]));
    const expired = new Map<string, string>();
    for (let i = 0; i < exp.length; i += 2) expired.set(exp[i]!, exp[i + 1]!);
    return { now: Number(now), leases: Number(leases), buckets, expired };
  }

  /** Of these instance ids, those with no lease (ZMSCORE in batches). */
  async missing(ids: string[]): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i += 1000) {
      const batch = ids.slice(i, i + 1000);
      const scores = await this.redis.zmscore(this.keys.eurekaLeases, ...batch);
      scores.forEach((sc, j) => { if (sc === null) out.push(batch[j]!); });
    }
    return out;
  }

  /** Takes or keeps the evictor lease for `ms`; true when this agent holds it. */
  async hold(agent: string, ms: number): Promise<boolean> { return (await this.#hold(agent, ms)) === 1; }
}
