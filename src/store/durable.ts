/**
 * @module Durable acknowledgements: a write is acknowledged to the client only once
 * `redis_min_replicas_acked` replicas confirm it (`WAIT`), so that a failover to a replica cannot
 * lose it (Sentinel promotes the most up-to-date replica). Default (auto): 1 when the primary reports
 * connected replicas, else 0, read again on every reconnect and every 5 s. Auto goes back to 0 only
 * after the primary has reported no replica for AUTO_HOLD_MS: right after a failover the new primary
 * has none for a few seconds, and writes acknowledged then (on the primary alone) would be lost by
 * the next failover; they get a 500 instead until a replica is attached.
 *
 * On a Redis Cluster the datacenter's keys share one slot: WAIT and INFO go to that slot's primary (`shardKey`).
 *
 * WAIT counts every write sent before it on the same connection, so one WAIT confirms every write
 * whose reply came before it was sent. Writers share WAITs: at most one is in flight and one more
 * is queued behind it (a WAIT blocks its connection, so they are never piled up).
 */
import type { Redis } from 'ioredis';

/** A write Redis applied whose replicas did not confirm it in time. */
export class NotDurableError extends Error {}

/** How long auto mode keeps requiring a replica after the primary last reported one. */
export const AUTO_HOLD_MS = 60_000;

export interface DurableOptions {
  /** `redis_min_replicas_acked`; undefined = auto (1 when the primary has replicas, else 0). */
  configured?: number;
  /** How long one WAIT may block (within the request deadline). */
  waitMs: number;
  /** Clock (tests). */
  now?: () => number;
  /**
   * On a Redis Cluster: a key of the datacenter's hash slot. WAIT and INFO are keyless, and ioredis would
   * send them to any node; they are sent in a pipeline behind a read of this key instead, which ioredis
   * routes to the slot's primary, on the very connection that carried the writes (what WAIT counts).
   */
  shardKey?: string;
}

export class DurableAcks {
  readonly #redis: Redis;
  readonly #o: DurableOptions;
  #auto = 0;
  #lastReplicas = -Infinity;
  #inflight: Promise<number> | null = null;
  #next: Promise<number> | null = null;
  #timer?: NodeJS.Timeout;

  constructor(redis: Redis, o: DurableOptions) {
    this.#redis = redis;
    this.#o = o;
  }

  /** Replicas a write must reach before it is acknowledged. */
  required(): number {
    return this.#o.configured ?? this.#auto;
  }

  /** Re-reads the primary's replica count now, on every reconnect, and every 5 s (auto mode only). */
  start(onChange?: (n: number) => void): void {
    if (this.#o.configured !== undefined) return;
    const refresh = () => void this.refresh().then(n => { if (n !== undefined) onChange?.(n); }, () => {});
    this.#redis.on('ready', refresh);
    this.#timer = setInterval(refresh, 5000);
    this.#timer.unref();
    refresh();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Reads `connected_slaves` from the primary; returns the new auto value when it changed. */
  async refresh(): Promise<number | undefined> {
    if (this.#redis.status !== 'ready') return undefined;
    const info = String(await this.#onShard('info', ['replication']));
    const now = (this.#o.now ?? Date.now)();
    if (Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0) > 0) this.#lastReplicas = now;
    const n = now - this.#lastReplicas < AUTO_HOLD_MS ? 1 : 0;
    if (n === this.#auto) return undefined;
    this.#auto = n;
    return n;
  }

  /** Runs a keyless command on the datacenter's primary: directly, or on a Cluster behind a read of `shardKey`. */
  async #onShard(cmd: 'info' | 'wait', args: (string | number)[]): Promise<unknown> {
    const key = this.#o.shardKey;
    if (!key || !(this.#redis as { isCluster?: boolean }).isCluster) return cmd === 'info' ? this.#redis.info(String(args[0])) : this.#redis.wait(Number(args[0]), Number(args[1]));
    const res = await this.#redis.pipeline().exists(key).call(cmd, ...args).exec();
    const [err, val] = res?.[1] ?? [new Error(`${cmd}: pipeline aborted`), null];
    if (err) throw err;
    return val;
  }

  /**
   * Resolves once `required()` replicas hold every write whose reply arrived before this call;
   * throws NotDurableError when they did not confirm within `waitMs`.
   */
  async confirm(): Promise<void> {
    const need = this.required();
    if (need === 0) return;
    // A WAIT in flight may have been sent before this write's reply: only one sent after it counts.
    if (!this.#next) {
      const prev = this.#inflight ?? Promise.resolve(0);
      const next: Promise<number> = prev.catch(() => 0).then(() => {
        this.#next = null;
        const p = this.#inflight = this.#onShard('wait', [need, this.#o.waitMs]) as Promise<number>;
        void p.catch(() => 0).finally(() => { if (this.#inflight === p) this.#inflight = null; });
        return p;
      });
      this.#next = next;
    }
    const acked = await this.#next;
    if (acked < need) {
      throw new NotDurableError(`write not confirmed by Redis replicas: ${acked} of ${need} acknowledged within ${this.#o.waitMs} ms (redis_min_replicas_acked); the write was applied on the primary and may or may not survive a failover`);
    }
  }
}
