/**
 * @module The one place where check results become catalog writes.
 *
 * Runners only report raw results; this module applies Consul's StatusHandler thresholds
 * (SuccessBeforePassing, FailuresBeforeWarning, FailuresBeforeCritical) with the counters kept
 * in Redis (the `checkState` hash, field `<node>\0<checkID>|s`), so they survive worker restarts
 * and are shared by every worker. It also guards runs: `claim` lets one iteration (slot) of a
 * check run at most once, and never two runs of the same check at the same time.
 *
 * Counters start at their thresholds, so the first result applies at once (as Consul).
 */
import type { Redis } from 'ioredis';
import type { HealthStatus } from '../catalog/model.ts';
import type { CatalogStore, UpdateCheckResult } from '../store/catalog-store.ts';
import type { RunResult } from './types.ts';

/**
 * claim: KEYS[1] checkState; ARGV member, slot (scheduled ms), lockMs, worker id.
 * Returns 1 (run it), 0 (slot already claimed: a stalled or duplicate job), -1 (a run is in flight
 * on a live worker). A run lock held by a worker whose heartbeat (`~w|<id>`) lapsed is taken over,
 * so a SIGKILLed worker delays its checks by at most one heartbeat TTL.
 */
const CLAIM = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local m, slot, lockMs, wid = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local last = tonumber(redis.call('HGET', KEYS[1], m .. '|r') or '0')
if slot <= last then return 0 end
local lk = redis.call('HGET', KEYS[1], m .. '|l')
if lk then
  local exp, holder = string.match(lk, '^(%d+):(.*)$')
  if exp and tonumber(exp) > now then
    local alive = tonumber(redis.call('HGET', KEYS[1], '~w|' .. holder) or '0')
    if alive > now then return -1 end
  end
end
redis.call('HSET', KEYS[1], m .. '|r', slot, m .. '|l', (now + lockMs) .. ':' .. wid)
return 1
`;

/** heartbeat: KEYS[1] checkState; ARGV worker id, ttl ms (0 = remove). Marks a worker alive until Redis TIME + ttl. */
const HEARTBEAT = `
if tonumber(ARGV[2]) == 0 then return redis.call('HDEL', KEYS[1], '~w|' .. ARGV[1]) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('HSET', KEYS[1], '~w|' .. ARGV[1], now + tonumber(ARGV[2]))
`;

/** prune: KEYS[1] checkState. Removes the liveness marks of workers that stopped beating (run at worker start). */
const PRUNE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cursor, n = '0', 0
repeat
  local r = redis.call('HSCAN', KEYS[1], cursor, 'MATCH', '~w|*', 'COUNT', 1000)
  cursor = r[1]
  for i = 1, #r[2], 2 do
    if tonumber(r[2][i + 1]) < now then redis.call('HDEL', KEYS[1], r[2][i]); n = n + 1 end
  end
until cursor == '0'
return n
`;

/**
 * result: KEYS[1] checkState; ARGV member, raw status, successBeforePassing, failuresBeforeWarning,
 * failuresBeforeCritical. Updates the counters, releases the run lock and returns the status to
 * write, or '' when a threshold is not reached yet.
 */
const RESULT = `
local m, st = ARGV[1], ARGV[2]
local sbp, fbw, fbc = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local succ, fail = sbp, fbc
local v = redis.call('HGET', KEYS[1], m .. '|s')
if v then
  local a, b = string.match(v, '^(%d+),(%d+)$')
  succ, fail = tonumber(a), tonumber(b)
end
local out = ''
if st == 'passing' or st == 'warning' then
  succ = math.min(succ + 1, 1000000); fail = 0
  if succ >= sbp then out = st end
else
  fail = math.min(fail + 1, 1000000); succ = 0
  if fail >= fbc then out = 'critical' elseif fail >= fbw then out = 'warning' end
end
redis.call('HSET', KEYS[1], m .. '|s', succ .. ',' .. fail)
redis.call('HDEL', KEYS[1], m .. '|l')
return out
`;

/** Thresholds of one check (Consul's defaults: 0 means 1; FailuresBeforeWarning defaults to FailuresBeforeCritical). */
export interface Thresholds { successBeforePassing: number; failuresBeforeWarning: number; failuresBeforeCritical: number }

export function thresholdsOf(def: { SuccessBeforePassing?: number; FailuresBeforeWarning?: number; FailuresBeforeCritical?: number }): Thresholds {
  const sbp = Math.max(1, def.SuccessBeforePassing ?? 0);
  const fbc = Math.max(1, def.FailuresBeforeCritical ?? 0);
  const fbw = def.FailuresBeforeWarning && def.FailuresBeforeWarning > 0 ? def.FailuresBeforeWarning : fbc;
  return { successBeforePassing: sbp, failuresBeforeWarning: fbw, failuresBeforeCritical: fbc };
}

/** Pure form of the threshold rule (the Lua above does the same); used by unit tests and docs. */
export function applyThresholds(t: Thresholds, counters: { succ: number; fail: number } | null, raw: HealthStatus): { report: HealthStatus | null; succ: number; fail: number } {
  let succ = counters?.succ ?? t.successBeforePassing;
  let fail = counters?.fail ?? t.failuresBeforeCritical;
  let report: HealthStatus | null = null;
  if (raw === 'passing' || raw === 'warning') {
    succ++; fail = 0;
    if (succ >= t.successBeforePassing) report = raw;
  } else {
    fail++; succ = 0;
    if (fail >= t.failuresBeforeCritical) report = 'critical';
    else if (fail >= t.failuresBeforeWarning) report = 'warning';
  }
  return { report, succ, fail };
}

/** The member name used by the catalog scripts for a check: `<node lower>\0<checkID>`. */
export function memberOf(node: string, checkId: string): string {
  return `${node.toLowerCase()}\0${checkId}`;
}

type Cmd = (...args: (string | number)[]) => Promise<unknown>;

/** Claims runs and turns raw results into catalog writes (thresholds, output deferral) for every worker. */
export class StatusHandler {
  readonly store: CatalogStore;
  #redis: Redis;
  #claim: Cmd;
  #result: Cmd;
  #heartbeat: Cmd;
  #prune: Cmd;

  constructor(store: CatalogStore) {
    this.store = store;
    this.#redis = store.redis;
    this.#redis.defineCommand('rosterCheckClaim', { numberOfKeys: 1, lua: CLAIM });
    this.#redis.defineCommand('rosterCheckResult', { numberOfKeys: 1, lua: RESULT });
    this.#redis.defineCommand('rosterCheckHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT });
    this.#redis.defineCommand('rosterCheckPrune', { numberOfKeys: 1, lua: PRUNE });
    const r = this.#redis as unknown as Record<string, Cmd>;
    this.#claim = r.rosterCheckClaim!.bind(this.#redis);
    this.#result = r.rosterCheckResult!.bind(this.#redis);
    this.#heartbeat = r.rosterCheckHeartbeat!.bind(this.#redis);
    this.#prune = r.rosterCheckPrune!.bind(this.#redis);
  }

  /** Drops the liveness marks of dead workers; returns how many. */
  async pruneWorkers(): Promise<number> {
    return Number(await this.#prune(this.store.keys.checkState));
  }

  /** Marks worker `id` alive for ttlMs (Redis clock); ttlMs 0 removes the mark (clean shutdown). */
  async heartbeat(id: string, ttlMs: number): Promise<void> {
    await this.#heartbeat(this.store.keys.checkState, id, ttlMs);
  }

  /** Claims one scheduled run (slot = its scheduled time in ms). 1 = run, 0 = already ran, -1 = in flight. */
  async claim(node: string, checkId: string, slot: number, lockMs: number, workerId: string): Promise<number> {
    return Number(await this.#claim(this.store.keys.checkState, memberOf(node, checkId), slot, Math.ceil(lockMs), workerId));
  }

  /**
   * Applies thresholds to a raw result, releases the run lock and writes the status (at once on a
   * status change; output-only changes at most every outputIntervalMs). Returns the store's answer,
   * or 'held' when a threshold kept the old status.
   */
  async report(node: string, checkId: string, t: Thresholds, r: RunResult, outputIntervalMs: number): Promise<UpdateCheckResult | 'held'> {
    const m = memberOf(node, checkId);
    let status: HealthStatus = r.status;
    if (t.successBeforePassing > 1 || t.failuresBeforeCritical > 1 || t.failuresBeforeWarning > 1) {
      const s = String(await this.#result(this.store.keys.checkState, m, r.status, t.successBeforePassing, t.failuresBeforeWarning, t.failuresBeforeCritical));
      if (!s) return 'held';
      status = s as HealthStatus;
    } else {
      void this.#redis.hdel(this.store.keys.checkState, `${m}|l`).catch(() => {});
    }
    const res = await this.store.updateCheck(node, checkId, status, r.output, { outputIntervalMs });
    return res.result;
  }

  /** Forgets a removed check's runner state (counters, claims, critical-since). */
  async forget(node: string, checkId: string): Promise<void> {
    const m = memberOf(node, checkId);
    await this.#redis.hdel(this.store.keys.checkState, `${m}|s`, `${m}|l`, `${m}|r`, `${m}|c`, `${m}|w`, `${m}|o`);
  }
}
