/**
 * @module The KV, session and user-event services of one agent (created once by the agent, reached
 * by routes as `deps.kv`), the change hints that wake their watchers, and the session sweeper.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../store/keys.ts';
import type { HintSource } from '../store/hint-log.ts';
import { KvStore } from '../store/kv-store.ts';
import { SessionStore } from '../store/session-store.ts';
import { EventStore } from '../store/event-store.ts';
import { logger } from '../log.ts';

const log = logger('agent.kv');

/** What the KV services wake: the HTTP layer's Notifier fits. */
export interface Wake {
  fire(topic: string): void;
  fireKey(key: string): void;
}

/** The KV, session and event stores that share the agent's Redis command connection. */
export class KvServices {
  readonly kv: KvStore;
  readonly sessions: SessionStore;
  readonly events: EventStore;
  /** The highest index of a KV, session or event change this agent has heard of (a snapshot restore stays above it). */
  indexSeen = 0;

  constructor(redis: Redis, keys: Keys) {
    this.kv = new KvStore(redis, keys);
    this.sessions = new SessionStore(redis, keys);
    this.events = new EventStore(redis, keys);
  }
}

/** Topic fired to wake every KV/session/event watcher (when change hints may have been lost). */
export const KV_RESYNC_TOPIC = 'kv:\0resync';
/** Topic of session reads. */
export const SESSIONS_TOPIC = 'table:sessions';
/** Topic of /v1/event/list. */
export const EVENTS_TOPIC = 'events';

/** Wakes the watchers a KV change hint names; returns its index (0 for a malformed one). */
export function applyKvEvent(deps: { notifier: Wake }, msg: string): number {
  let ev: { i: number; k?: string[]; s?: number; e?: number; a?: number };
  try { ev = JSON.parse(msg); } catch { return 0; }
  if (ev.a) { fireAllKv(deps); return Number(ev.i) || 0; } // a snapshot restore replaced every key
  for (const k of ev.k ?? []) deps.notifier.fireKey(k);
  if (ev.s) deps.notifier.fire(SESSIONS_TOPIC);
  if (ev.e) deps.notifier.fire(EVENTS_TOPIC);
  return Number(ev.i) || 0;
}

/** Wakes every KV, session and event watcher (they re-read Redis and return only if something changed). */
export function fireAllKv(deps: { notifier: Wake }): void {
  deps.notifier.fire(KV_RESYNC_TOPIC);
  deps.notifier.fire(SESSIONS_TOPIC);
  deps.notifier.fire(EVENTS_TOPIC);
}

/** What the background work needs from the agent. */
export interface KvBackgroundDeps {
  kv: KvServices;
  redis: Redis;
  /** The agent's change hints (src/store/hint-log.ts): entries `kv` name what changed. */
  hints: HintSource;
  notifier: Wake;
  /** The catalog view's change events: a node's change sweeps its sessions. */
  view: { on(ev: 'change', fn: (ch: { all: boolean; nodes: Set<string> }) => void): unknown; off(ev: 'change', fn: (ch: { all: boolean; nodes: Set<string> }) => void): unknown };
}

/**
 * Follows the KV change hints and starts the session sweeper; returns the stop function.
 * A hint wakes the watchers it names; hints that may have been lost (src/store/hint-log.ts) wake every watcher,
 * which re-reads Redis and returns only if something changed.
 * Sweeps: expired sessions every 500 ms; sessions of nodes a catalog change touched at once;
 * every session's node every 10 s (catches missed catalog events).
 */
export function startKvBackground(deps: KvBackgroundDeps): () => Promise<void> {
  const kd = deps.kv;
  const { sessions } = kd;
  const offHint = deps.hints.on('kv', msg => {
    const i = applyKvEvent(deps, msg);
    if (i > kd.indexSeen) kd.indexSeen = i;
  });
  const offLost = deps.hints.onLost(() => fireAllKv(deps));

  let sweeping = false;
  const pending = new Set<string>();
  const sweep = async (nodes: string[]) => {
    if (sweeping || deps.redis.status !== 'ready') { for (const n of nodes) pending.add(n); return; }
    sweeping = true;
    try {
      const all = [...new Set([...nodes, ...pending])];
      pending.clear();
      const res = await sessions.sweep(all);
      if (res.graced) log.info('sessions swept after a Redis outage: TTL timers restarted', { sessions: res.graced });
    } catch (err) {
      log.debug('session sweep failed', { err: (err as Error).message });
    } finally {
      sweeping = false;
    }
  };
  const t1 = setInterval(() => void sweep([]), 500);
  const t2 = setInterval(() => { sessions.sessionNodes().then(n => sweep(n), () => {}); }, 10_000);
  const onChange = (ch: { all: boolean; nodes: Set<string> }) => {
    if (ch.all) sessions.sessionNodes().then(n => sweep(n), () => {});
    else if (ch.nodes.size) void sweep([...ch.nodes]);
  };
  deps.view.on('change', onChange);
  return async () => {
    clearInterval(t1);
    clearInterval(t2);
    deps.view.off('change', onChange);
    offHint();
    offLost();
  };
}
