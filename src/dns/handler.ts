/**
 * @module Buffer in → Buffer out: the whole DNS server without sockets.
 *
 * `handle()` answers synchronously from the answer cache whenever it can; only forwarding to
 * recursors (and answers that need an upstream lookup for an out-of-zone CNAME target) return a
 * Promise. Routing follows miekg's ServeMux: the longest configured suffix wins among the
 * domain, the alt domain, `arpa.`, every static zone, and `.` (only when recursors exist);
 * no match → REFUSED. DS questions go to the least specific match (miekg's parent-side rule).
 */
import type { CatalogView, ViewChange } from '../catalog/view.ts';
import type { Logger } from '../log.ts';
import type { DnsRuntime } from './runtime.ts';
import { parseRequest, encodeOpt, optLength } from './request.ts';
import type { Query } from './request.ts';
import { T, RCODE, encodeMsg, lowerName, newMsg, rrName } from './wire.ts';
import type { Msg, RR } from './wire.ts';
import { newCtx, domainReply, soaRecord, serviceQuestion } from './records.ts';
import { serviceEntry } from './service-answers.ts';
import { ptrTarget, invalidatePtr } from './ptr.ts';
import type { Ctx, Overlay } from './records.ts';
import { trimUDP, trimTCP, udpMaxSize, capSize, MAX_TCP_SIZE } from './truncate.ts';
import { AnswerCache } from './answer-cache.ts';
import { cacheKey, headerOnly, isArpa, patch, reply, replyChunks } from './cached-reply.ts';
import type { Entry, Variant } from './answer-cache.ts';
import { forward, resolveExternal } from './recursor.ts';
import { LogThrottle } from './log-throttle.ts';
import { Forwarder } from './forwarder.ts';
import { shareNegative, RecentNegatives } from './negative.ts';
import type { DnsMetrics } from './metrics.ts';
import { RemoteDcAnswers } from './remote-dc.ts';
import { queryName, queryReply, type QueryExecutor } from './query-answers.ts';
import type { DcDirectory } from '../catalog/datacenters.ts';

export type { Transport } from './cached-reply.ts';
import type { Transport } from './cached-reply.ts';

/** Static zones the handler serves (see zones.ts). */
export interface ZoneSource {
  /** Lower-case origins of the standalone zones. */
  origins(): Iterable<string>;
  /** Records inside the Consul domain(s) that shadow the catalog. */
  overlay: Overlay;
  /** An authoritative reply for a name in a standalone zone. */
  answer(origin: string, qname: string, qtype: number): Msg;
}

type Route = { k: 'domain' } | { k: 'arpa' } | { k: 'zone'; origin: string } | { k: 'recurse' } | { k: 'refused' };

const VARIANTS_MAX = 8;
const REFRESH_TRIMMED_AFTER = 256;
/** Entries built again at once per change, at most (the rest wait for their next question). */
const BUILD_AHEAD_MAX = 256;

export class DnsHandler {
  readonly cache = new AnswerCache();
  #rt: DnsRuntime;
  #view: CatalogView;
  #zones: ZoneSource | null;
  #mux = new Map<string, Route>();
  readonly #errs: LogThrottle;
  /** Sockets and in-flight cap of forwarded queries. */
  readonly forwarder = new Forwarder();
  readonly #recentNeg = new RecentNegatives();
  /** Per-query metrics (src/dns/metrics.ts); null = none recorded. */
  metrics: DnsMetrics | null = null;
  /** Other datacenters' names, answered by them (remote-dc.ts). */
  readonly remote: RemoteDcAnswers;
  /** Prepared queries, executed by the agent (query-answers.ts); null = none (NXDOMAIN). */
  queries: QueryExecutor | null = null;
  /**
   * Told of every cached answer dropped (deps null: all of them), with the entries built again at once because they
   * were in demand (`hot`), before the change is visible anywhere (answer-thread.ts).
   */
  sink: { invalidated(deps: readonly string[] | null, fresh: [string, Entry][]): void } | null = null;
  /** Cache keys the answer thread served lately (its reports): a change that drops one builds it again at once. */
  hot: ReadonlySet<string> = new Set();

  constructor(view: CatalogView, rt: DnsRuntime, zones: ZoneSource | null, log?: Logger, errs?: LogThrottle, dcs: () => DcDirectory | undefined = () => undefined) {
    this.#view = view; this.#rt = rt; this.#zones = zones; this.#errs = errs ?? new LogThrottle(log);
    this.remote = new RemoteDcAnswers(dcs, this.forwarder, this.#errs);
    this.#rebuildMux();
  }

  get runtime(): DnsRuntime { return this.#rt; }

  /** New settings: every cached answer goes. */
  setRuntime(rt: DnsRuntime): void {
    this.#rt = rt;
    this.#rebuildMux();
    this.#dropAll();
    invalidatePtr(this.#view);
  }

  /** Every cached answer goes (the set of datacenters changed). */
  clearCache(): void {
    this.#dropAll();
  }

  /** Every cached answer goes, here and in the answer thread (nothing is built ahead: the settings changed). */
  #dropAll(): void {
    this.cache.clear(); this.#recentNeg.clear(); this.sink?.invalidated(null, []);
  }

  /** New static zones: every cached answer goes. */
  setZones(z: ZoneSource | null): void {
    this.#zones = z;
    this.#rebuildMux();
    this.#dropAll();
  }

  /** Applies a catalog change: drops exactly the cached answers that read what it touched. */
  onChange(c: ViewChange): void {
    invalidatePtr(this.#view);
    this.#recentNeg.clear();
    const sink = this.sink;
    const dropped: [string, Entry][] = [];
    const onDrop = sink !== null && this.hot.size > 0 ? (k: string, e: Entry) => { if (e.src !== undefined && this.hot.has(k)) dropped.push([k, e]); } : undefined;
    if (c.all) {
      if (onDrop) for (const [k, e] of this.cache.entries()) onDrop(k, e);
      this.cache.clear();
      sink?.invalidated(null, this.#buildAhead(dropped));
      return;
    }
    const deps = ['*'];
    for (const s of c.services) deps.push('s:' + s);
    for (const n of c.nodes) deps.push('n:' + n);
    for (const d of deps) this.cache.invalidate(d, onDrop);
    sink?.invalidated(deps, this.#buildAhead(dropped));
  }

  /**
   * Answers a change dropped while the answer thread was serving them, built again now (at most BUILD_AHEAD_MAX per
   * change), so that they reach the thread with the invalidation and its next question is not a miss waiting on this
   * thread. Only entries: an answer that would be forwarded or not cached is left to the next question.
   */
  #buildAhead(dropped: [string, Entry][]): [string, Entry][] {
    const out: [string, Entry][] = [];
    for (const [key, old] of dropped) {
      if (out.length >= BUILD_AHEAD_MAX) break;
      const src = old.src!;
      try {
        const q = parseRequest(src.msg);
        if (q.t !== 'query') continue;
        const r = this.#build(q, src.msg, src.transport, q.edns ? optLength(q.edns) : 0);
        if (r instanceof Promise) { r.catch(() => undefined); continue; }
        if (Buffer.isBuffer(r) || r.shared || (!r.deps.length && !r.variants.length)) continue;
        r.src = src;
        this.cache.set(key, r);
        out.push([key, r]);
      } catch { /* the next question builds it (and reports the error) */ }
    }
    return out;
  }

  /**
   * A question the answer thread could not answer from its copy of the cache (answer-thread.ts): answered
   * here as any other, plus the cache entry it left under `key`, for the thread to keep. `refresh`: the
   * thread's copy used its share (a trimmed, shuffled answer), so this one rotates or is rebuilt first.
   */
  forThread(msg: Buffer, transport: Transport, key: string, refresh: boolean): { reply: Buffer | null | Promise<Buffer | null>; entry: Entry | undefined } {
    if (refresh) { const e = this.cache.get(key); if (e) this.#refresh(key, e); }
    const reply = this.handle(msg, transport);
    return { reply, entry: reply instanceof Promise ? undefined : this.cache.get(key) };
  }

  #rebuildMux(): void {
    const m = new Map<string, Route>();
    if (this.#rt.recursors.length) m.set('.', { k: 'recurse' });
    m.set('arpa.', { k: 'arpa' });
    for (const o of this.#zones?.origins() ?? []) m.set(o, { k: 'zone', origin: o });
    m.set(this.#rt.domain, { k: 'domain' });
    if (this.#rt.altDomain) m.set(this.#rt.altDomain, { k: 'domain' });
    this.#mux = m;
  }

  #route(lname: string, qtype: number): Route {
    let found: Route | undefined;
    for (let off = 0; ;) {
      const r = this.#mux.get(off === 0 ? lname : lname.slice(off));
      if (r) { if (qtype !== T.DS) return r; found = r; }
      if (off >= lname.length - 1) break;
      const dot = nextDot(lname, off);
      if (dot < 0 || dot + 1 >= lname.length) break;
      off = dot + 1;
    }
    return this.#mux.get('.') ?? found ?? { k: 'refused' };
  }

  /** Answers one message. null = send nothing. */
  handle(msg: Buffer, transport: Transport): Buffer | null | Promise<Buffer | null> {
    return this.#answer(msg, transport, false) as Buffer | null | Promise<Buffer | null>;
  }

  /**
   * As handle(), for a stream: a large cached reply comes as chunks to write in order, its body a
   * view of the cached variant (never mutated once built), so a 64 KiB answer is not copied.
   */
  handleChunks(msg: Buffer, transport: Transport): Buffer | Buffer[] | null | Promise<Buffer | null> {
    return this.#answer(msg, transport, true);
  }

  #answer(msg: Buffer, transport: Transport, chunks: boolean): Buffer | Buffer[] | null | Promise<Buffer | null> {
    // Metrics (src/dns/metrics.ts): every return records the query; the cached path reads the rcode from the entry.
    const m = this.metrics;
    const t0 = m === null ? -1 : m.start();
    const p = parseRequest(msg);
    switch (p.t) {
      case 'drop': if (m !== null) m.answered(t0, -1); return null;
      case 'reply': return m === null ? p.buf : m.reply(t0, false, p.buf);
      case 'noquestion': { const b = headerOnly(p.id, p.b2, p.b3, RCODE.REFUSED); return m === null ? b : m.reply(t0, false, b); }
      case 'query': break;
    }
    const q = p;
    const optLen = q.edns ? optLength(q.edns) : 0;
    const key = cacheKey(q, transport, optLen);
    let e = this.cache.get(key) ?? this.#recentNeg.get(key);
    if (e !== undefined) {
      this.cache.hits++;
      if (e.refreshAfter !== 0 && ++e.uses > e.refreshAfter) e = this.#refresh(key, e);
    }
    if (e === undefined) {
      this.cache.misses++;
      try {
        const r = this.#build(q, msg, transport, optLen);
        if (r instanceof Promise) {
          const out = r.catch(err => { this.#errs.note('error', 'dns: query failed', { error: err }); return this.#servfail(q); });
          if (m === null) return out;
          const arpa = isArpa(q.wireKey);
          return out.then(b => m.reply(t0, arpa, b));
        }
        if (Buffer.isBuffer(r)) return m === null ? r : m.reply(t0, isArpa(q.wireKey), r);
        e = r;
        if (e.shared) this.#recentNeg.set(key, e);
        else if (e.deps.length || e.variants.length) {
          if (this.sink !== null) e.src = { msg, transport };
          this.cache.set(key, e);
        }
      } catch (err) {
        this.#errs.note('error', 'dns: query failed', { question: q.qname, error: err as Error });
        const b = this.#servfail(q);
        return m === null ? b : m.reply(t0, isArpa(q.wireKey), b);
      }
    }
    if (m !== null) m.answered(t0, e.kind);
    return chunks ? replyChunks(e, q) : reply(e, q);
  }

  /** A trimmed answer used its share: rotate it to the next instances, else drop it for a rebuild. */
  #refresh(key: string, e: Entry): Entry | undefined {
    if (e.rotate) {
      try { e.rotate(); return e; } catch (err) { this.#errs.note('error', 'dns: rotating an answer failed', { error: err as Error }); }
    }
    this.cache.delete(key);
    return undefined;
  }

  #build(q: Query, raw: Buffer, transport: Transport, optLen: number): Entry | Buffer | Promise<Buffer | null> {
    const lname = lowerName(q.qname);
    const route = this.#route(lname, q.qtype);
    switch (route.k) {
      case 'refused': {
        const m = newMsg({ name: q.qname, type: q.qtype, cls: q.qclass });
        m.rcode = RCODE.REFUSED;
        return patch(encodeMsg(m, this.#rt.compress).buf, q, null);
      }
      case 'recurse': return this.#recurse(q, raw, transport);
      case 'arpa': return this.#ptr(q, lname, raw, transport, optLen);
      case 'zone': {
        const m = this.#zones!.answer(route.origin, lname, q.qtype);
        m.question = { name: lname, type: q.qtype, cls: 1 };
        fitStatic(m, transport, q, optLen, this.#rt.compress);
        return this.#negative(m, lname) ?? entryOf([m], ['zones'], this.#rt.compress, false);
      }
      case 'domain': {
        const dc = this.remote.target(this.#rt, lname, q.qtype);
        if (dc) return this.#remoteDc(q, lname, raw, transport, optLen, dc);
        const qn = this.queries ? queryName(this.#rt, lname, q.qtype) : null;
        if (qn && !this.#zones?.overlay.lookup(lname)) return this.#query(q, lname, transport, optLen, qn);
        return this.#domain(q, lname, transport, optLen);
      }
    }
  }

  async #query(q: Query, lname: string, transport: Transport, optLen: number, qn: { query: string; respDomain: string }): Promise<Buffer | null> {
    const m = await queryReply(this.#ctx(q), this.queries!, qn, lname, q.qtype);
    this.#trim(m, q, lname, transport, optLen);
    return reply(entryOf([m], [], this.#rt.compress, false), q);
  }

  async #remoteDc(q: Query, lname: string, raw: Buffer, transport: Transport, optLen: number, dc: string): Promise<Buffer | null> {
    const key = `${transport}|${q.edns ? q.edns.size : 0},${optLen}|${q.qtype}|${lname}`;
    const buf = await this.remote.answer(this.#rt, q, raw, transport, key, dc);
    return buf ? patch(buf, q, null) : this.#servfail(q);
  }

  #ctx(q: Query): Ctx {
    return newCtx(this.#view, this.#rt, q.edns !== null, this.#zones?.overlay);
  }

  #domain(q: Query, lname: string, transport: Transport, optLen: number): Entry | Promise<Buffer | null> {
    const sq = serviceQuestion(this.#rt, this.#zones?.overlay, lname, q.qtype);
    const fast = sq && serviceEntry(this.#view, this.#rt, sq, lname, q.qtype, { udp: transport === 'udp', ednsSize: q.edns ? q.edns.size : null, optLen });
    if (fast) return fast;
    const ctx = this.#ctx(q);
    const first = domainReply(ctx, lname, q.qtype);
    if ([...ctx.external.values()].includes(null)) return this.#domainAsync(q, lname, transport, optLen, ctx);
    const n = ctx.shuffled;
    const k = n <= 1 ? 1 : n === 2 ? 2 : first.answer.length > 100 ? 2 : VARIANTS_MAX;
    const msgs = [first];
    for (let i = 1; i < k; i++) msgs.push(domainReply(ctx, lname, q.qtype));
    let trimmed = false;
    for (const m of msgs) if (this.#trim(m, q, lname, transport, optLen)) trimmed = true;
    const neg = k === 1 ? this.#negative(first, lname) : null;
    if (neg) return neg;
    const e = entryOf(msgs, [...ctx.deps], this.#rt.compress, trimmed && n > 1);
    return e;
  }

  async #domainAsync(q: Query, lname: string, transport: Transport, optLen: number, ctx: Ctx): Promise<Buffer | null> {
    let m = newMsg(null);
    for (let round = 0; round < 3; round++) {
      const pending = [...ctx.external].filter(([, v]) => v === null).map(([k]) => k);
      if (pending.length === 0) break;
      const got = await Promise.all(pending.map(name => resolveExternal(name, this.#rt, this.forwarder)));
      pending.forEach((name, i) => ctx.external.set(name, got[i]!));
      m = domainReply(ctx, lname, q.qtype);
    }
    this.#trim(m, q, lname, transport, optLen);
    return reply(entryOf([m], [], this.#rt.compress, false), q);
  }

  #trim(m: Msg, q: Query, lname: string, transport: Transport, optLen: number): boolean {
    m.question = { name: lname, type: q.qtype, cls: 1 };
    const rt = this.#rt;
    let trimmed = transport === 'udp'
      ? trimUDP(m, q.edns ? q.edns.size : null, rt.udpAnswerLimit, rt.compress, optLen)
      : trimTCP(m, q.qtype, rt.compress, optLen);
    if (capSize(m, transport === 'udp' ? udpMaxSize(q.edns ? q.edns.size : null) : MAX_TCP_SIZE, rt.compress, optLen)) trimmed = true;
    if (trimmed && rt.enableTruncate) m.tc = true;
    return trimmed;
  }

  #ptr(q: Query, lname: string, raw: Buffer, transport: Transport, optLen: number): Entry | Promise<Buffer | null> {
    const ctx = this.#ctx(q);
    const target = ptrTarget(ctx, lname);
    const m = newMsg({ name: lname, type: q.qtype, cls: 1 });
    m.aa = true; m.ra = this.#rt.recursors.length > 0;
    const soa = soaRecord(this.#rt, this.#rt.domain);
    if (q.qtype === T.SOA) m.authority.push(soa);
    if (target) m.answer.push(rrName(lname, T.PTR, 0, target));
    else if (this.#rt.recursors.length) return this.#recurse(q, raw, transport);
    else {
      m.rcode = RCODE.NXDOMAIN;
      if (q.qtype !== T.SOA) m.authority.push(soa);
    }
    void optLen;
    return this.#negative(m, lname) ?? entryOf([m], [...ctx.deps], this.#rt.compress, false, true);
  }

  /** A name-independent negative answer: the one entry shared per zone cut and name length (negative.ts). */
  #negative(m: Msg, lname: string): Entry | null {
    const k = shareNegative(m, lname);
    if (k === null) return null;
    let e = this.cache.get(k);
    if (!e) { e = entryOf([m], [], this.#rt.compress, false, lname.endsWith('arpa.')); e.shared = true; this.cache.set(k, e); }
    return e;
  }

  async #recurse(q: Query, raw: Buffer, transport: Transport): Promise<Buffer | null> {
    const r = await forward(raw, transport, this.#rt, this.forwarder, this.#errs);
    return typeof r === 'string' ? this.#servfail(q) : r;
  }

  /** SERVFAIL like Consul's recursor failure: RA=1, no AA, OPT echoed if requested. */
  #servfail(q: Query): Buffer {
    const m = newMsg({ name: q.qname, type: q.qtype, cls: q.qclass });
    m.rcode = RCODE.SERVFAIL; m.ra = true;
    return patch(encodeMsg(m, this.#rt.compress).buf, q, q.edns ? encodeOpt(q.edns) : null);
  }
}

function nextDot(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) { i++; continue; }
    if (c === 0x2e) return i;
  }
  return -1;
}

function entryOf(msgs: Msg[], deps: string[], compress: boolean, trimmedShuffle: boolean, arpa = false): Entry {
  const variants: Variant[] = msgs.map(m => { const e = encodeMsg(m, compress); return { buf: e.buf, serials: e.serialOffsets }; });
  return { variants, next: 0, deps, refreshAfter: trimmedShuffle ? REFRESH_TRIMMED_AFTER * variants.length : 0, uses: 0, kind: (variants[0]!.buf[3]! & 15) | (arpa ? 16 : 0) };
}

/** Static zones answer like any authoritative server: over-size UDP → additional dropped, then TC=1 with no records. */
function fitStatic(m: Msg, transport: Transport, q: Query, optLen: number, compress: boolean): void {
  const max = transport === 'udp' ? udpMaxSize(q.edns ? q.edns.size : null) : 65535;
  const size = (): number => encodeLen(m, compress) + optLen;
  if (size() <= max) return;
  m.additional = [];
  if (size() <= max) return;
  m.answer = []; m.authority = []; m.tc = true;
}

function encodeLen(m: Msg, compress: boolean): number {
  try { return encodeMsg(m, compress).buf.length; } catch { return 1 << 20; }
}

export type { RR };
