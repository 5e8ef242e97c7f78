/**
 * @module Blocking queries (Consul's `?index=&wait=`), built on topic notifications.
 *
 * A query names the topics its data depends on (`svc:web`, `node:n1`, `table:services`,
 * `kv:key`, `kvprefix:` ...). It re-runs only when one of its topics fires, so a watch on one
 * KV key is never woken by another key. Topics fire after the in-memory state reflects the change.
 */
import { HttpError, type Ctx } from './server.ts';
import { parseDurationNs } from '../util/duration.ts';

type Waker = () => void;

export class Notifier {
  #topics = new Map<string, Set<Waker>>();
  /** KV prefix watchers: prefix → wakers (woken by any key under the prefix). */
  #prefixes = new Map<string, Set<Waker>>();

  /** Resolves when any topic fires (or a key under a watched prefix changes), on timeout, or on abort. */
  wait(topics: string[], prefixes: string[], timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise(resolve => {
      let done = false;
      const wake = () => {
        if (done) return;
        done = true;
        clearTimeout(t);
        signal?.removeEventListener('abort', wake);
        for (const tp of topics) this.#topics.get(tp)?.delete(wake);
        for (const p of prefixes) this.#prefixes.get(p)?.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, timeoutMs);
      signal?.addEventListener('abort', wake);
      for (const tp of topics) {
        let s = this.#topics.get(tp);
        if (!s) this.#topics.set(tp, (s = new Set()));
        s.add(wake);
      }
      for (const p of prefixes) {
        let s = this.#prefixes.get(p);
        if (!s) this.#prefixes.set(p, (s = new Set()));
        s.add(wake);
      }
    });
  }

  /** Incremented on every fire: a query that saw it change while it ran re-runs instead of parking. */
  seq = 0;

  /** Wakes every waiter on a topic. */
  fire(topic: string): void {
    this.seq++;
    const s = this.#topics.get(topic);
    if (!s) return;
    this.#topics.delete(topic);
    for (const w of s) w();
  }

  /** Wakes waiters on `kv:<key>` and on every watched prefix of key. */
  fireKey(key: string): void {
    this.seq++;
    this.fire(`kv:${key}`);
    for (const [p, s] of this.#prefixes) {
      if (key.startsWith(p)) {
        this.#prefixes.delete(p);
        for (const w of s) w();
      }
    }
  }

  /** Number of parked waiters (for stats and benchmarks). */
  get waiting(): number {
    let n = 0;
    for (const s of this.#topics.values()) n += s.size;
    for (const s of this.#prefixes.values()) n += s.size;
    return n;
  }
}

export interface BlockingParams { index: number; waitMs: number }

const MAX_WAIT = 10 * 60_000;
const DEFAULT_WAIT = 5 * 60_000;

/** Parses `index` and `wait` as Consul does (400 `Invalid wait time` / `Invalid index`). */
export function blockingParams(ctx: Ctx): BlockingParams {
  const w = ctx.query.get('wait');
  const i = ctx.query.get('index');
  let waitMs = DEFAULT_WAIT;
  if (w !== null && w !== '') {
    try {
      waitMs = parseDurationNs(w) / 1e6;
    } catch {
      throw new HttpError(400, 'Invalid wait time');
    }
    if (waitMs < 0) throw new HttpError(400, 'Invalid wait time');
    waitMs = Math.min(waitMs, MAX_WAIT);
  }
  let index = 0;
  if (i !== null && i !== '') {
    if (!/^\d+$/.test(i)) throw new HttpError(400, 'Invalid index');
    index = Number(i);
  }
  return { index, waitMs };
}

/**
 * Runs a query, blocking while its index is not greater than `?index`. `run` returns the data
 * and its index; `topics` are re-evaluated each round (what the query read).
 */
export async function blocking<T>(ctx: Ctx, notifier: Notifier, deps: { topics: string[]; prefixes?: string[] }, run: () => Promise<{ index: number; data: T }> | { index: number; data: T }): Promise<{ index: number; data: T }> {
  const { index: min, waitMs } = blockingParams(ctx);
  let seq = notifier.seq;
  let r = await run();
  if (min <= 0) return r;
  // The wait starts here: it holds one of the client's blocking-query slots until the answer (429 past the cap).
  if (r.index <= min) ctx.enterBlocking();
  // Consul adds up to wait/16 of jitter so that many watchers do not return together.
  const deadline = Date.now() + waitMs + Math.random() * (waitMs / 16);
  while (r.index <= min && !ctx.signal.aborted) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    if (notifier.seq === seq) await notifier.wait(deps.topics, deps.prefixes ?? [], left, ctx.signal);
    seq = notifier.seq;
    r = await run();
  }
  return r;
}
