/**
 * @module What the DNS handler records per query: one increment of a plain number, `counts[kind]`
 * (kind = the reply's RCODE, + 16 for a reverse lookup; a cached answer carries its kind), and for
 * one query in TIME_EVERY its duration. Nothing is allocated and no series is touched per query: the
 * registry calls flush() before every read and interval close, which moves the counts into
 * `consul.dns.domain_query` / `consul.dns.ptr_query` (labelled with the agent's node name, as
 * Consul's) and `roster.dns.responses{rcode}`. The answer cache's own hit and miss totals and its
 * size are read at scrape time too (DnsServer registers them).
 *
 * Only one query in TIME_EVERY is timed: reading the clock twice (~200 ns here) would cost about
 * half of answering from the cache. The timers' counts are exact; their sums and quantiles are
 * estimated from that sample (each timed query stands for TIME_EVERY).
 */
import { metrics, M, type Series } from '../util/metrics/index.ts';

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE', 'RCODE11', 'RCODE12', 'RCODE13', 'RCODE14', 'RCODE15'];

/** One query in this many is timed (a power of two). */
export const TIME_EVERY = 16;

/** Kinds 0–31 (RCODE + 16 × reverse); slot 32 = queries answered with nothing (dropped). */
const DROPPED = 32;

export class DnsMetrics {
  /** Queries seen; `(tick & (TIME_EVERY - 1)) === 0` → time this one. */
  tick = 0;
  /** Queries answered, by kind (the per-query increment). */
  readonly counts = new Float64Array(DROPPED + 1);
  readonly #flushed = new Float64Array(DROPPED + 1);
  readonly domain: Series;
  readonly ptr: Series;
  readonly #rcodes: (Series | null)[] = RCODE_NAMES.map(() => null);
  readonly close: () => void;
  /** Counts kept by the answer thread (answer-protocol.ts: the same kinds in slots 0–32), added at each flush. */
  #external: { counts: Float64Array; flushed: Float64Array } | null = null;

  constructor(node: string) {
    this.domain = M.dnsDomainQuery.series(node);
    this.ptr = M.dnsPtrQuery.series(node);
    this.close = metrics.onRead(() => this.flush());
  }

  /** The clock for a query to time, else -1. */
  start(): number {
    return (++this.tick & (TIME_EVERY - 1)) === 0 ? performance.now() : -1;
  }

  /** One query answered: `kind` = the reply's RCODE, + 16 for a reverse lookup, -1 = no reply. `t0` from start(). */
  answered(t0: number, kind: number): void {
    this.counts[kind < 0 ? DROPPED : kind]!++;
    if (t0 >= 0) (kind >= 16 ? this.ptr : this.domain).addSample(performance.now() - t0, TIME_EVERY);
  }

  /** As answered(), from the reply bytes (the slower paths: errors, replies built without an entry, forwarding). */
  reply(t0: number, arpa: boolean, reply: Buffer | null): Buffer | null {
    this.answered(t0, reply !== null && reply.length >= 4 ? (reply[3]! & 15) | (arpa ? 16 : 0) : -1);
    return reply;
  }

  /** Also reports the answers another thread counted in `counts` (slots 0–32 as here; it only adds). */
  addExternal(counts: Float64Array): void {
    this.#external = { counts, flushed: new Float64Array(DROPPED + 1) };
  }

  /** Moves the counts since the last flush into the series (run by the registry before it is read). */
  flush(): void {
    const x = this.#external;
    if (x !== null) {
      for (let k = 0; k <= DROPPED; k++) {
        const v = x.counts[k]!;
        this.counts[k]! += v - x.flushed[k]!;
        x.flushed[k] = v;
      }
    }
    const c = this.counts, f = this.#flushed;
    let domain = c[DROPPED]! - f[DROPPED]!;
    let ptr = 0;
    for (let rc = 0; rc < 16; rc++) {
      const d = c[rc]! - f[rc]!, p = c[rc + 16]! - f[rc + 16]!;
      domain += d; ptr += p;
      if (d + p > 0) (this.#rcodes[rc] ??= M.dnsResponses.series(RCODE_NAMES[rc]!)).addCount(d + p, true);
    }
    f.set(c);
    this.domain.addCount(domain, false);
    this.ptr.addCount(ptr, false);
  }
}
