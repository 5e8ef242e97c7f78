/**
 * @module Sessions in Redis: typed wrappers over src/store/scripts/session*.lua (user events: event-store.ts).
 *
 * Invariant: a session's locks are released (or deleted) in the same atomic step that removes the
 * session, so no key is ever held by a session that no longer exists.
 */
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';
import { defineKvScript } from './kv-store.ts';

/** A session as Consul shows it. */
export interface SessionRec {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: 'release' | 'delete';
  TTL: string;
  NodeChecks: string[] | null;
  ServiceChecks: { ID: string; Namespace: string }[] | null;
  CreateIndex: number;
  ModifyIndex: number;
}

/** What create stores: the session plus the private fields the scripts read. */
export interface SessionWrite extends Omit<SessionRec, 'CreateIndex' | 'ModifyIndex'> {
  _node: string;
  _ttlMs: number;
  _lockDelayMs: number;
  _checks: string[];
}

type Fn = (...args: (string | number)[]) => Promise<unknown>;

export function decodeSession(raw: string): SessionRec {
  const nl = raw.indexOf('\n');
  const idx = Number(raw.slice(0, nl));
  const d = JSON.parse(raw.slice(nl + 1)) as Record<string, unknown>;
  return {
    ID: d.ID as string, Name: (d.Name as string) ?? '', Node: d.Node as string, LockDelay: (d.LockDelay as number) ?? 0,
    Behavior: (d.Behavior as SessionRec['Behavior']) ?? 'release', TTL: (d.TTL as string) ?? '', NodeChecks: (d.NodeChecks as string[] | null) ?? null,
    ServiceChecks: (d.ServiceChecks as SessionRec['ServiceChecks']) ?? null, CreateIndex: idx, ModifyIndex: idx,
  };
}

/**
 * A gap between two session sweeps longer than this (Redis's clock) is an outage: TTL timers restart.
 * Agents sweep every 500 ms, so 3 s is six missed sweeps: a busy event loop does not trigger it, a
 * frozen, partitioned or failed-over Redis does.
 */
export const SWEEP_GAP_GRACE_MS = 3000;

export class SessionStore {
  readonly redis: Redis;
  readonly keys: Keys;
  #create: Fn; #renew: Fn; #destroy: Fn; #sweep: Fn;

  constructor(redis: Redis, keys: Keys) {
    this.redis = redis;
    this.keys = keys;
    this.#create = defineKvScript(redis, keys, 'sessionCreate-14.lua');
    this.#renew = defineKvScript(redis, keys, 'sessionRenew-14.lua');
    this.#destroy = defineKvScript(redis, keys, 'sessionDestroy-14.lua');
    this.#sweep = defineKvScript(redis, keys, 'sessionSweep-14.lua');
  }

  /** Creates a session; throws Redis errors carrying Consul's messages (`Missing node registration`, ...). */
  async create(s: SessionWrite): Promise<number> {
    return Number(await this.#create(s.ID, s._node, JSON.stringify(s)));
  }

  /** Re-arms a session's TTL; null when the session does not exist. */
  async renew(id: string): Promise<SessionRec | null> {
    const raw = (await this.#renew(id)) as string | null;
    return raw ? decodeSession(raw) : null;
  }

  /** Destroys (invalidates) a session. Returns the index after. */
  async destroy(id: string): Promise<number> {
    return Number(await this.#destroy(id));
  }

  /**
   * Expires due sessions and checks the sessions on `nodes` (lower-cased). When no sweep ran for more
   * than `graceAfterMs` (by Redis's clock), every TTL timer first restarts at 2×TTL (scripts/sessionSweep-14.lua).
   */
  async sweep(nodes: string[] = [], max = 1000, graceAfterMs = SWEEP_GAP_GRACE_MS): Promise<{ index: number; invalidated: number; graced: number }> {
    const [index, n, graced] = (await this.#sweep(max, this.keys.sessionSweptAt, graceAfterMs, ...nodes)) as [number, number, number];
    return { index, invalidated: n, graced };
  }

  async get(id: string): Promise<SessionRec | null> {
    const raw = await this.redis.hget(this.keys.sessions, id);
    return raw ? decodeSession(raw) : null;
  }

  /** Every session, sorted by ID, and the sessions table index. */
  async list(): Promise<{ sessions: SessionRec[]; index: number }> {
    const res = await this.redis.multi().hgetall(this.keys.sessions).hget(this.keys.tables, 'sessions').exec();
    if (!res) throw new Error('transaction aborted');
    for (const [err] of res) if (err) throw err;
    const all = Object.values((res[0]![1] as Record<string, string>) ?? {}).map(decodeSession).sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
    return { sessions: all, index: Number(res[1]![1]) || 0 };
  }

  /** Lower-cased names of every node that has sessions (for the full invalidation sweep). */
  async sessionNodes(): Promise<string[]> {
    const vals = await this.redis.hvals(this.keys.sessions);
    const set = new Set<string>();
    for (const v of vals) {
      try { set.add((JSON.parse(v.slice(v.indexOf('\n') + 1)) as { _node: string })._node); } catch { /* skip */ }
    }
    return [...set];
  }
}
