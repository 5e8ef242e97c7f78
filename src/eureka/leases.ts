/**
 * @module Eureka leases in Redis: one deadline per instance (Redis clock), shared by every agent,
 * so a client may register on one agent and renew on another. Renewals are also counted per second
 * (Redis clock) for self-preservation. Every call goes through the agent's command connection,
 * which carries the redis_timeout deadline.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../store/keys.ts';
import { defineScript, type ScriptFn } from '../store/script.ts';

// KEYS: leases, durations, renews, evictor. ARGV[1] = prefix (unused), then the script's own.
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** ARGV: id, node, duration ms. */
const GRANT = `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4] .. '\\0' .. ARGV[3])
return now`;

/** ARGV: id. 1 = renewed, 0 = no lease. Counts the renewal in this second's bucket. */
const RENEW = `${NOW}
local d = redis.call('HGET', KEYS[2], ARGV[2])
if not d or not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
local ms = tonumber(string.match(d, '^(%d+)'))
redis.call('ZADD', KEYS[1], now + ms, ARGV[2])
redis.call('HINCRBY', KEYS[3], tostring(math.floor(now / 1000)), 1)
return 1`;

/** ARGV: id. */
const DROP = `redis.call('ZREM', KEYS[1], ARGV[2]) return redis.call('HDEL', KEYS[2], ARGV[2])`;

/**
 * ARGV: window seconds, max expired returned. Returns {now, leases, renewal buckets (flat), expired ids with their nodes (flat)};
 * buckets older than the window are dropped.
 */
const STATE = `${NOW}
local sec = math.floor(now / 1000)
local win = tonumber(ARGV[2])
local b = redis.call('HGETALL', KEYS[3])
local keep = {}
for i = 1, #b, 2 do
  if tonumber(b[i]) < sec - win - 1 then redis.call('HDEL', KEYS[3], b[i]) else keep[#keep + 1] = b[i]; keep[#keep + 1] = b[i + 1] end
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local exp = {}
for _, id in ipairs(ids) do
  local d = redis.call('HGET', KEYS[2], id) or ''
  exp[#exp + 1] = id
  exp[#exp + 1] = string.match(d, '^%d+%z(.*)$') or ''
end
return {now, redis.call('ZCARD', KEYS[1]), keep, exp}`;

/** Who runs eviction: ARGV = agent, ms. */
const HOLD = `local v = redis.call('GET', KEYS[4])
if not v then redis.call('SET', KEYS[4], ARGV[2], 'PX', ARGV[3]) return 1 end
if v == ARGV[2] then redis.call('PEXPIRE', KEYS[4], ARGV[3]) return 1 end
return 0`;

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
    const def = (name: string, lua: string) => defineScript(redis, name, lua, k, keys.prefix);
    this.#grant = def('rosterEurekaGrant', GRANT);
    this.#renew = def('rosterEurekaRenew', RENEW);
    this.#drop = def('rosterEurekaDrop', DROP);
    this.#state = def('rosterEurekaState', STATE);
    this.#hold = def('rosterEurekaHold', HOLD);
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
