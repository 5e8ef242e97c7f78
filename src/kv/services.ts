/**
 * @module The KV and session stores for a set of ApiDeps (created once per agent, on first use),
 * and the change subscriber + session sweeper the agent runs.
 */
import type { ApiDeps } from '../context.ts';
import { KvStore } from '../../store/kv-store.ts';
import { SessionStore } from '../../store/session-store.ts';
import { logger } from '../../log.ts';

const log = logger('agent.kv');

export interface KvDeps {
  kv: KvStore; sessions: SessionStore;
  /** The highest index of a KV, session or event change this agent has heard of (a snapshot restore stays above it). */
  indexSeen: number;
}

const cache = new WeakMap<object, KvDeps>();

/** The KV and session stores that share the agent's Redis connection (needs only `redis` and `store.keys`). */
export function kvDeps(deps: Pick<ApiDeps, 'redis' | 'store'>): KvDeps {
  let d = cache.get(deps.redis);
  if (!d) {
    d = { kv: new KvStore(deps.redis, deps.store.keys), sessions: new SessionStore(deps.redis, deps.store.keys), indexSeen: 0 };
    cache.set(deps.redis, d);
  }
  return d;
}

/** Topic fired to wake every KV/session/event watcher (after a subscriber reconnect). */
export const KV_RESYNC_TOPIC = 'kv:\0resync';
/** Topic of session reads. */
export const SESSIONS_TOPIC = 'table:sessions';
/** Topic of /v1/event/list. */
export const EVENTS_TOPIC = 'events';

/** Wakes the watchers a KV change event names; returns its index (0 for a malformed message). */
export function applyKvEvent(deps: Pick<ApiDeps, 'notifier'>, msg: string): number {
  let ev: { i: number; k?: string[]; s?: number; e?: number; a?: number };
  try { ev = JSON.parse(msg); } catch { return 0; }
  if (ev.a) { fireAllKv(deps); return Number(ev.i) || 0; } // a snapshot restore replaced every key
  for (const k of ev.k ?? []) deps.notifier.fireKey(k);
  if (ev.s) deps.notifier.fire(SESSIONS_TOPIC);
  if (ev.e) deps.notifier.fire(EVENTS_TOPIC);
  return Number(ev.i) || 0;
}

/** Wakes every KV, session and event watcher (they re-read Redis and return only if something changed). */
export function fireAllKv(deps: Pick<ApiDeps, 'notifier'>): void {
  deps.notifier.fire(KV_RESYNC_TOPIC);
  deps.notifier.fire(SESSIONS_TOPIC);
  deps.notifier.fire(EVENTS_TOPIC);
}

/**
 * Starts the KV change subscriber and the session sweeper; returns the stop function.
 * Sweeps: expired sessions every 500 ms; sessions of nodes a catalog change touched at once;
 * every session's node every 10 s (catches missed catalog events).
 */
export async function startKvBackground(deps: ApiDeps): Promise<() => Promise<void>> {
  const { sessions } = kvDeps(deps);
  const sub = deps.connector.create('subscriber');
  let connectedOnce = false;
  const kd = kvDeps(deps);
  sub.on('message', (_ch, msg) => {
    const i = applyKvEvent(deps, msg);
    if (i > kd.indexSeen) kd.indexSeen = i;
  });
  sub.on('ready', () => {
    if (connectedOnce) { log.debug('kv subscriber reconnected; waking every watcher'); fireAllKv(deps); }
    connectedOnce = true;
  });
  sub.on('error', err => log.debug('kv subscriber error', { err: err.message }));
  await sub.connect();
  await sub.subscribe(deps.store.keys.kvEvents);

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
    sub.disconnect();
  };
}
