/**
 * @module The one place where check results become catalog writes.
 *
 * Runners only report raw results; this module applies Consul's StatusHandler thresholds
 * (SuccessBeforePassing, FailuresBeforeWarning, FailuresBeforeCritical) with the counters kept
 * in Redis (the `checkState` hash, field `<node>\0<checkID>|s`), so they survive worker restarts
 * and are shared by every worker. It also guards runs: `claim` lets one iteration (slot) of a
 * check run at most once, and never two runs of the same check at the same time.
 *
 * Counters start at their thresholds, so the first result applies at once (as Consul). The scripts are
 * src/store/scripts/check*.lua (checkResult-1.lua holds the threshold rule).
 */
import type { Redis } from 'ioredis';
import type { HealthStatus } from '../catalog/model.ts';
import type { CatalogStore, UpdateCheckResult } from '../store/catalog-store.ts';
import type { RunResult } from './types.ts';
import { defineScript, type ScriptFn } from '../store/script.ts';

/** Thresholds of one check (Consul's defaults: 0 means 1; FailuresBeforeWarning defaults to FailuresBeforeCritical). */
export interface Thresholds { successBeforePassing: number; failuresBeforeWarning: number; failuresBeforeCritical: number }

export function thresholdsOf(def: { SuccessBeforePassing?: number; FailuresBeforeWarning?: number; FailuresBeforeCritical?: number }): Thresholds {
  const sbp = Math.max(1, def.SuccessBeforePassing ?? 0);
  const fbc = Math.max(1, def.FailuresBeforeCritical ?? 0);
  const fbw = def.FailuresBeforeWarning && def.FailuresBeforeWarning > 0 ? def.FailuresBeforeWarning : fbc;
  return { successBeforePassing: sbp, failuresBeforeWarning: fbw, failuresBeforeCritical: fbc };
}

/** The member name used by the catalog scripts for a check: `<node lower>\0<checkID>`. */
export function memberOf(node: string, checkId: string): string {
  return `${node.toLowerCase()}\0${checkId}`;
}

type Cmd = ScriptFn;

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
    const state = [store.keys.checkState];
    this.#claim = defineScript(this.#redis, 'checkClaim-1.lua', state);
    this.#result = defineScript(this.#redis, 'checkResult-1.lua', state);
    this.#heartbeat = defineScript(this.#redis, 'checkHeartbeat-1.lua', state);
    this.#prune = defineScript(this.#redis, 'checkPrune-1.lua', state);
  }

  /** Drops the liveness marks of dead workers; returns how many. */
  async pruneWorkers(): Promise<number> {
    return Number(await this.#prune());
  }

  /** Marks worker `id` alive for ttlMs (Redis clock); ttlMs 0 removes the mark (clean shutdown). */
  async heartbeat(id: string, ttlMs: number): Promise<void> {
    await this.#heartbeat(id, ttlMs);
  }

  /** Claims one scheduled run (slot = its scheduled time in ms). 1 = run, 0 = already ran, -1 = in flight. */
  async claim(node: string, checkId: string, slot: number, lockMs: number, workerId: string): Promise<number> {
    return Number(await this.#claim(memberOf(node, checkId), slot, Math.ceil(lockMs), workerId));
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
      const s = String(await this.#result(m, r.status, t.successBeforePassing, t.failuresBeforeWarning, t.failuresBeforeCritical));
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
