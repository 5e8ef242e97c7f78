/**
 * @module /v1/kv/*: Consul's KV API on Redis (GET/PUT/DELETE, recurse, keys, raw, cas, flags,
 * acquire, release), with per-key blocking: a watch on one key wakes only for that key.
 */
import { HttpError, type BodyLimit, type Ctx, type Router } from '../server.ts';
import { blockingParams } from '../blocking.ts';
import { checkDc, durable, metaHeaders, requireRedis, type ApiDeps } from '../context.ts';
import { KV_RESYNC_TOPIC } from '../../kv/services.ts';
import type { KvEntry, KvSetMode } from '../../store/kv-store.ts';
import { rawInt } from '../../util/json.ts';

/** Consul's `kv_max_value_size` (512 KiB by default) and its 413 message. */
export const KV_MAX_VALUE_SIZE = 512 * 1024;
const KV_BODY: BodyLimit = {
  max: KV_MAX_VALUE_SIZE,
  message: n => `Request body(${n} bytes) too large, max size: ${KV_MAX_VALUE_SIZE} bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.`,
};

/** Consul's DirEntry wire shape. */
export function wireDirEntry(e: KvEntry): Record<string, unknown> {
  const o: Record<string, unknown> = { LockIndex: e.LockIndex, Key: e.Key, Flags: rawInt(e.Flags), Value: e.Value.length ? e.Value.toString('base64') : null };
  if (e.Session) o.Session = e.Session;
  o.CreateIndex = e.CreateIndex;
  o.ModifyIndex = e.ModifyIndex;
  return o;
}

/** 400 `Conflicting flags: <query>` when more than one of `flags` is present (Consul's wording). */
function conflicting(ctx: Ctx, ...flags: string[]): void {
  if (flags.filter(f => ctx.has(f)).length > 1) {
    const q = new URLSearchParams(ctx.query);
    q.sort();
    throw new HttpError(400, `Conflicting flags: ${q.toString()}`);
  }
}

function parseU64(v: string): string {
  if (!/^\d+$/.test(v)) throw new HttpError(500, `strconv.ParseUint: parsing "${v}": invalid syntax`);
  if (BigInt(v) > 0xffffffffffffffffn) throw new HttpError(500, `strconv.ParseUint: parsing "${v}": value out of range`);
  return BigInt(v).toString();
}

/**
 * Runs `run` until `changed` says the result differs from what the client has (`?index`), the
 * wait ends, or the client goes away. Wakes on the named key topics and prefixes only.
 */
async function kvBlocking<T>(ctx: Ctx, deps: ApiDeps, topics: string[], prefixes: string[], run: () => Promise<T>, changed: (r: T, min: number, first: boolean) => boolean): Promise<T> {
  const { index: min, waitMs } = blockingParams(ctx);
  let seq = deps.notifier.seq;
  let r = await run();
  if (min <= 0 || changed(r, min, true)) return r;
  ctx.enterBlocking();
  const deadline = Date.now() + waitMs + Math.random() * (waitMs / 16);
  while (!changed(r, min, false) && !ctx.signal.aborted) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    if (deps.notifier.seq === seq) await deps.notifier.wait([...topics, KV_RESYNC_TOPIC], prefixes, left, ctx.signal);
    seq = deps.notifier.seq;
    r = await run();
  }
  return r;
}

export function kvRoutes(r: Router, deps: ApiDeps): void {
  const { kv } = deps.kv;
  /** Concurrent identical single-key reads share one Redis round trip (10k watchers of one key wake cheaply). */
  const inflight = new Map<string, Promise<{ entry: KvEntry | null; tableIndex: number; tombIndex: number }>>();
  // Keyed by the notifier's sequence too: a read that starts after a change was signalled (e.g. right
  // after this agent's own write) never joins a read that started before it (read-your-writes).
  const getOne = (key: string) => {
    const k = `${deps.notifier.seq}\0${key}`;
    let p = inflight.get(k);
    if (!p) {
      p = kv.get(key).finally(() => inflight.delete(k));
      inflight.set(k, p);
    }
    return p;
  };

  r.add(['GET', 'PUT', 'DELETE'], '/v1/kv/', async ctx => {
    checkDc(ctx, deps);
    if (ctx.has('stale') && ctx.has('consistent')) throw new HttpError(400, 'Cannot specify ?stale with ?consistent, conflicting semantics.');
    const key = ctx.param;
    if (ctx.method === 'GET') return get(ctx, key);
    requireRedis(deps);
    if (ctx.method === 'PUT') return put(ctx, key);
    return del(ctx, key);
  });

  async function get(ctx: Ctx, key: string) {
    requireRedis(deps);
    const recurse = ctx.has('recurse');
    const keysOnly = ctx.has('keys');
    if (!recurse && !keysOnly) {
      if (key === '') throw new HttpError(400, 'Missing key name');
      const res = await kvBlocking(ctx, deps, [`kv:${key}`], [], () => getOne(key), (x, min, first) => (x.entry ? x.entry.ModifyIndex : first ? x.tableIndex : x.tombIndex) > min);
      const index = res.entry ? res.entry.ModifyIndex : res.tableIndex;
      const headers = metaHeaders(index, null);
      if (!res.entry) return { status: 404, body: '', headers };
      if (ctx.has('raw')) {
        return { body: res.entry.Value, raw: true, headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': 'sandbox' } };
      }
      return { body: [wireDirEntry(res.entry)], headers };
    }
    const indexOf = (x: { entries: KvEntry[]; tableIndex: number; tombIndex: number }) => {
      if (x.entries.length === 0 && x.tombIndex === 0) return x.tableIndex;
      let m = x.tombIndex;
      for (const e of x.entries) if (e.ModifyIndex > m) m = e.ModifyIndex;
      return m;
    };
    const res = await kvBlocking(ctx, deps, [], [key], () => kv.list(key), (x, min, first) => (first || x.entries.length > 0 || x.tombIndex > 0) && indexOf(x) > min);
    const headers = metaHeaders(indexOf(res), null);
    if (keysOnly) {
      const sep = ctx.query.get('separator') ?? '';
      const out: string[] = [];
      let last = '';
      for (const e of res.entries) {
        let k = e.Key;
        if (sep) {
          const i = k.indexOf(sep, key.length);
          if (i >= 0) k = k.slice(0, i + sep.length);
        }
        if (k !== last) out.push(k);
        last = k;
      }
      if (out.length === 0 && key !== '') return { status: 404, body: '', headers };
      return { body: out, headers };
    }
    if (res.entries.length === 0) return { status: 404, body: '', headers };
    return { body: res.entries.map(wireDirEntry), headers };
  }

  async function put(ctx: Ctx, key: string) {
    if (key === '') throw new HttpError(400, 'Missing key name');
    conflicting(ctx, 'cas', 'acquire', 'release');
    const flags = ctx.has('flags') ? parseU64(ctx.query.get('flags')!) : '0';
    let mode: KvSetMode = 'set';
    let cas = 0;
    let session = '';
    if (ctx.has('cas')) { mode = 'cas'; cas = Number(parseU64(ctx.query.get('cas')!)); }
    if (ctx.has('acquire')) { mode = 'acquire'; session = ctx.query.get('acquire')!; }
    if (ctx.has('release')) { mode = 'release'; session = ctx.query.get('release')!; }
    const body = await ctx.body(KV_BODY);
    let res;
    try {
      res = await kv.set(key, body, { flags, mode, cas, session });
    } catch (err) {
      const m = (err as Error).message;
      if (m.includes('invalid session')) throw new HttpError(500, m.slice(m.indexOf('invalid session')));
      throw err;
    }
    await durable(deps);
    if (res.ok) deps.notifier.fireKey(key);
    return { body: res.ok };
  }

  async function del(ctx: Ctx, key: string) {
    const recurse = ctx.has('recurse');
    if (recurse && ctx.has('cas')) throw new HttpError(400, 'Conflicting flags: ' + (() => { const q = new URLSearchParams(ctx.query); q.sort(); return q.toString(); })());
    if (!recurse && key === '') throw new HttpError(400, 'Missing key name');
    const res = recurse ? await kv.delete(key, 'recurse') : ctx.has('cas') ? await kv.delete(key, 'cas', Number(parseU64(ctx.query.get('cas')!))) : await kv.delete(key, 'one');
    await durable(deps);
    if (!recurse) deps.notifier.fireKey(key);
    return { body: res.ok };
  }
}
