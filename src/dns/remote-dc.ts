/**
 * @module Names of other datacenters: `<svc>.service.<dc>.consul` (tag and RFC 2782 forms too),
 * `<node>.node.<dc>.consul` and `<q>.query.<dc>.consul` are answered by that datacenter's own DNS
 * server, found through the WAN pool (src/catalog/datacenters.ts): the client's message goes
 * there byte for byte (the remote agent names its own records, `<node>.node.<dc>.consul.` SRV
 * targets included), and the reply comes back unchanged. DNS forwarding was chosen over the
 * remote HTTP API: one UDP exchange, no JSON, and the answer is exactly what a dc2 client sees
 * (bench/multidc measures it).
 *
 * Answers are kept `dns_config.dc_cache_ttl` (5 s). An older answer is refreshed; while the
 * datacenter does not answer, it is served stale (`allow_stale`, up to `max_stale`) after at most
 * STALE_WAIT_MS. With nothing cached, one query waits at most `recursor_timeout` (2 s), then
 * SERVFAIL. A datacenter the WAN pool never heard of is not handled here (NXDOMAIN, as before).
 */
import type { DcDirectory } from '../catalog/datacenters.ts';
import type { Forwarder } from './forwarder.ts';
import type { LogThrottle } from './log-throttle.ts';
import type { Query } from './request.ts';
import { checkMessage } from './request.ts';
import { responseDomain } from './records.ts';
import { parseName, splitLabels } from './parse-name.ts';
import { parseRecursor, type DnsRuntime } from './runtime.ts';
import { RCODE, T } from './wire.ts';

/** How long a query waits for a refresh before it gets the stale answer. */
export const STALE_WAIT_MS = 1000;
const MAX_ENTRIES = 10_000;

interface Cached { buf: Buffer; at: number }

export class RemoteDcAnswers {
  readonly #dcs: () => DcDirectory | undefined;
  readonly #fwd: Pick<Forwarder, 'acquire' | 'release' | 'exchangeUDP' | 'exchangeTCP'>;
  readonly #errs: LogThrottle;
  readonly #cache = new Map<string, Cached>();
  readonly #inflight = new Map<string, Promise<Buffer | null>>();
  /** Remote exchanges made (cache misses and refreshes). */
  exchanges = 0;
  /** Stale answers served. */
  staleServed = 0;

  readonly #now: () => number;

  /** `now` is the clock cached answers age by (tests pass a fake one). */
  constructor(dcs: () => DcDirectory | undefined, fwd: Pick<Forwarder, 'acquire' | 'release' | 'exchangeUDP' | 'exchangeTCP'>, errs: LogThrottle, now: () => number = Date.now) {
    this.#dcs = dcs; this.#fwd = fwd; this.#errs = errs; this.#now = now;
  }

  /** The other datacenter a question is for, or null (local, peer, unknown to the WAN pool, or not a per-datacenter name). */
  target(rt: DnsRuntime, lname: string, qtype: number): string | null {
    const dir = this.#dcs();
    if (!dir) return null;
    const rd = responseDomain(rt, lname);
    if (!rd || qtype === T.SOA || qtype === T.NS || qtype === T.AXFR) return null;
    const p = parseName(splitLabels(lname.slice(0, lname.length - rd.domain.length)), qtype === T.SRV);
    if (p.kind !== 'service' && p.kind !== 'node' && p.kind !== 'query') return null;
    if (p.dc === null || p.dc === rt.dc || ('peer' in p && p.peer)) return null;
    const dc = dir.datacenters().find(d => d.toLowerCase() === p.dc);
    return dc ?? null;
  }

  /** The answer for `q` from `dc`: fresh from the cache, else asked, else stale, else null (the caller answers SERVFAIL). */
  async answer(rt: DnsRuntime, q: Query, raw: Buffer, transport: 'udp' | 'tcp', key: string, dc: string): Promise<Buffer | null> {
    const now = this.#now();
    const hit = this.#cache.get(key);
    if (hit && now - hit.at < rt.dcCacheTtlMs) return hit.buf;
    const usable = hit && rt.allowStale && now - hit.at < rt.dcCacheTtlMs + rt.maxStaleMs ? hit : null;
    let p = this.#inflight.get(key);
    if (!p) {
      p = this.#ask(rt, raw, transport, dc).then(buf => {
        if (buf) {
          if (this.#cache.size >= MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
          this.#cache.delete(key);
          this.#cache.set(key, { buf, at: this.#now() });
        }
        return buf;
      }).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, p);
    }
    if (!usable) return p;
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([p, new Promise<null>(r => { timer = setTimeout(() => r(null), STALE_WAIT_MS); })]);
    clearTimeout(timer);
    if (waited) return waited;
    this.staleServed++;
    return usable.buf;
  }

  /** One exchange per server of `dc`, best first, all within recursor_timeout. */
  async #ask(rt: DnsRuntime, raw: Buffer, transport: 'udp' | 'tcp', dc: string): Promise<Buffer | null> {
    const servers = (this.#dcs()?.servers(dc) ?? []).filter(s => s.dns);
    if (servers.length === 0) { this.#errs.note('warn', 'dns: no reachable server in datacenter', { dc }); return null; }
    if (!this.#fwd.acquire(rt.recursorMaxInFlight)) return null;
    const t0 = Date.now();
    try {
      for (const s of servers) {
        const left = t0 + rt.recursorTimeoutMs - Date.now();
        if (left <= 0) break;
        let to;
        try { to = parseRecursor(s.dns); } catch { continue; }
        this.exchanges++;
        const reply = transport === 'tcp' ? await this.#fwd.exchangeTCP(raw, to, left) : await this.#fwd.exchangeUDP(raw, to, left);
        if (!reply) continue;
        const rcode = checkMessage(reply);
        if (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN) return reply;
      }
    } finally { this.#fwd.release(); }
    this.#errs.note('warn', 'dns: datacenter did not answer', { dc, servers: servers.map(s => s.name).join(',') });
    return null;
  }
}
