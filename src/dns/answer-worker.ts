/**
 * @module The answer thread's side (a worker; the main thread's side is answer-thread.ts).
 *
 * It owns the DNS sockets, the response-rate limiter and a copy of the main thread's answer cache, and
 * answers every question that copy holds without asking the main thread: its heap holds encoded
 * answers only, so neither a catalog reload nor a garbage collection of the catalog's heap delays
 * them. A question it has no answer for goes to the main thread, whose reply (and cache entry) comes
 * back on the same port, in order after every invalidation sent before it.
 *
 * Read-your-writes: the main thread posts each invalidation, then bumps a shared counter; before
 * answering from its copy, this thread takes every message the counter says was sent
 * (receiveMessageOnPort, synchronously). So a change the main thread applied before a question
 * arrived is never answered around.
 */
import { workerData, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { parseRequest, type Query } from './request.ts';
import { RCODE } from './wire.ts';
import { AnswerCache, type Entry } from './answer-cache.ts';
import { cacheKey, headerOnly, reply, replyChunks, type QueryHandler, type Transport } from './cached-reply.ts';
import { LogThrottle } from './log-throttle.ts';
import { ResponseRateLimiter } from './rrl.ts';
import { bindTransports, closeTransports, type Bound } from './listen.ts';
import type { TcpOptions } from './tcp.ts';
import type { RateLimitConfig } from '../config/schema.ts';
import { S, HOT_MAX, HOT_REPORT_MS, type ToThread, type FromThread, type WireEntry } from './answer-protocol.ts';

const { port, seq, shared, maxPending, askTimeoutMs } = workerData as { port: MessagePort; seq: Int32Array; shared: Float64Array; maxPending: number; askTimeoutMs: number };

const post = (m: FromThread): void => port.postMessage(m);
const errs = new LogThrottle({
  debug: () => undefined, info: () => undefined,
  warn: (msg: string, fields?: Record<string, unknown>) => post({ t: 'log', level: 'warn', msg, fields: plain(fields) }),
  error: (msg: string, fields?: Record<string, unknown>) => post({ t: 'log', level: 'error', msg, fields: plain(fields) }),
} as never);

const cache = new AnswerCache();
/** Keys answered or asked for since the last report: the main thread builds these again at once when a change drops them. */
let hot = new Set<string>();
let applied = 0;
/** The limiter, its counters shared as they change (DnsServer.rateLimitStats). */
class SharedRrl extends ResponseRateLimiter {
  override check(addr: string, b: Buffer): ReturnType<ResponseRateLimiter['check']> {
    const v = super.check(addr, b);
    if (v !== 'send') { shared[S.SLIPPED] = this.slipped; shared[S.RRL_DROPPED] = this.dropped; }
    return v;
  }
}
const limiter = (c: RateLimitConfig | null): ResponseRateLimiter | null => {
  shared[S.SLIPPED] = 0; shared[S.RRL_DROPPED] = 0;
  return c ? new SharedRrl(c) : null;
};
let rrl: ResponseRateLimiter | null = null;
let bound: Bound | null = null;
let nextId = 0;
const pending = new Map<number, { resolve: (b: Buffer | null) => void; at: number; key: string }>();
/** Questions for a key already asked of the main thread wait for its entry instead of asking again (a stampede after a change). */
interface Waiter { msg: Buffer; q: Query; transport: Transport; resolve: (b: Buffer | null | Promise<Buffer | null>) => void }
const waiting = new Map<string, Waiter[]>();

/** Takes every message the main thread has sent up to its invalidation counter (read-your-writes). */
function sync(): void {
  const want = Atomics.load(seq, 0);
  while (applied < want) {
    const r = receiveMessageOnPort(port);
    if (r === undefined) break;
    dispatch(r.message as ToThread);
  }
}

const toEntry = (w: WireEntry): Entry => ({
  variants: w.variants.map(v => ({ buf: Buffer.from(v.buf.buffer, v.buf.byteOffset, v.buf.byteLength), serials: v.serials })),
  next: 0, deps: w.deps, refreshAfter: w.refreshAfter, uses: 0, kind: w.kind,
});

function dispatch(m: ToThread): void {
  switch (m.t) {
    case 'set': cache.set(m.key, toEntry(m.e)); break;
    case 'inv':
      if (m.deps === null) cache.clear(); else for (const d of m.deps) cache.invalidate(d);
      for (const [k, w] of m.fresh) cache.set(k, toEntry(w));
      applied = m.seq;
      break;
    case 'a': {
      const p = pending.get(m.id);
      if (p) { pending.delete(m.id); p.resolve(m.reply ? Buffer.from(m.reply.buffer, m.reply.byteOffset, m.reply.byteLength) : null); release(p.key, true); }
      break;
    }
    case 'listen': void listen(m.hosts, m.port, m.tcp, m.rrl); break;
    case 'config': rrl = limiter(m.rrl); break;
    case 'close': void close(); break;
  }
}

/** Counts one answer by kind (RCODE, + 16 for reverse; -1 = nothing sent) for the main thread's metrics. */
function count(kind: number): void { shared[kind < 0 ? S.DROPPED : kind]!++; }

function answer(msg: Buffer, transport: Transport, chunks: boolean): Buffer | Buffer[] | null | Promise<Buffer | null> {
  const p = parseRequest(msg);
  switch (p.t) {
    case 'drop': count(-1); return null;
    case 'reply': count(p.buf.length >= 4 ? p.buf[3]! & 15 : -1); return p.buf;
    case 'noquestion': count(RCODE.REFUSED); return headerOnly(p.id, p.b2, p.b3, RCODE.REFUSED);
    case 'query': break;
  }
  const key = cacheKey(p, transport);
  sync();
  let e = cache.get(key);
  let refresh = false;
  if (e !== undefined && e.refreshAfter !== 0 && ++e.uses > e.refreshAfter) { cache.delete(key); e = undefined; refresh = true; }
  if (hot.size < HOT_MAX) hot.add(key);
  if (e !== undefined) {
    shared[S.HITS]!++;
    count(e.kind);
    return chunks ? replyChunks(e, p) : reply(e, p);
  }
  const w = waiting.get(key);
  if (w !== undefined) {
    if (w.length >= maxPending) { shared[S.OVERLOAD]!++; return null; }
    return new Promise(resolve => w.push({ msg, q: p, transport, resolve }));
  }
  waiting.set(key, []);
  return ask(msg, transport, key, refresh);
}

/** The main thread answered the first question for `key`: the others answer from the entry it sent, or ask themselves. */
function release(key: string, answered: boolean): void {
  const ws = waiting.get(key);
  if (ws === undefined) return;
  waiting.delete(key);
  const e = answered ? cache.get(key) : undefined;
  for (const w of ws) {
    if (e === undefined) { w.resolve(answered ? ask(w.msg, w.transport, key, false) : null); continue; }
    shared[S.HITS]!++;
    count(e.kind);
    w.resolve(reply(e, w.q));
  }
}

/** The main thread answers (bounded: past maxPending questions waiting, or after askTimeoutMs, nothing is sent). */
function ask(msg: Buffer, transport: Transport, key: string, refresh: boolean): Promise<Buffer | null> | null {
  if (pending.size >= maxPending) { shared[S.OVERLOAD]!++; release(key, false); return null; }
  const id = ++nextId;
  return new Promise(resolve => {
    pending.set(id, { resolve, at: performance.now(), key });
    post({ t: 'q', id, key, msg: new Uint8Array(msg), transport, refresh }); // exactly the bytes, not the socket's pool
  });
}

const handler: QueryHandler = {
  handle: (msg, transport) => answer(msg, transport, false) as Buffer | null | Promise<Buffer | null>,
  handleChunks: (msg, transport) => answer(msg, transport, true),
};

async function listen(hosts: string[], p: number, tcp: TcpOptions, rl: RateLimitConfig | null): Promise<void> {
  rrl = limiter(rl);
  try {
    bound = await bindTransports(handler, hosts, p, tcp, errs, () => rrl);
    post({ t: 'listening', port: bound.port });
  } catch (e) {
    post({ t: 'listen-failed', error: e as Error });
  }
}

async function close(): Promise<void> {
  clearInterval(sweep); clearInterval(hotReport);
  if (bound) await closeTransports(bound);
  for (const p of pending.values()) { p.resolve(null); release(p.key, false); }
  pending.clear();
  post({ t: 'closed' });
  port.close();
}

// Questions the main thread has not answered in time get nothing (the client retries).
const sweep = setInterval(() => {
  const now = performance.now();
  for (const [id, p] of pending) if (now - p.at > askTimeoutMs) { pending.delete(id); shared[S.TIMEOUTS]!++; p.resolve(null); release(p.key, false); }
}, 250);
sweep.unref();
const hotReport = setInterval(() => { // empty reports too: what is no longer asked for stops being built ahead
  post({ t: 'hot', keys: [...hot] });
  hot = new Set();
}, HOT_REPORT_MS);
hotReport.unref();

/** Log fields made cloneable (an Error keeps its message). */
function plain(f: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!f) return f;
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) o[k] = v instanceof Error ? v.message : v;
  return o;
}

port.on('message', (m: ToThread) => dispatch(m));
