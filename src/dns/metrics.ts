/**
 * @module What the DNS handler records per query, without allocating: the handler holds these
 * series and bumps their number fields. `consul.dns.domain_query` / `consul.dns.ptr_query` (ms,
 * labelled with the agent's node name, as Consul's) and `roster.dns.responses{rcode}`; the answer
 * cache's own hit and miss totals and its size are read at scrape time (DnsServer registers them).
 *
 * Every query is counted, but only one in TIME_EVERY is timed: reading the clock twice (~200 ns
 * here) would cost about what answering from the cache does. The timers' counts are exact; their
 * sums and quantiles are estimated from that sample (each timed query stands for TIME_EVERY).
 */
import { M, type Series } from '../util/metrics/index.ts';

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE', 'RCODE11', 'RCODE12', 'RCODE13', 'RCODE14', 'RCODE15'];

/** One query in this many is timed (a power of two). */
export const TIME_EVERY = 16;

export class DnsMetrics {
  /** Queries seen; `(tick & (TIME_EVERY - 1)) === 0` → time this one. */
  tick = 0;
  readonly domain: Series;
  readonly ptr: Series;
  readonly #rcodes: (Series | null)[] = RCODE_NAMES.map(() => null);

  constructor(node: string) {
    this.domain = M.dnsDomainQuery.series(node);
    this.ptr = M.dnsPtrQuery.series(node);
  }

  /** The clock for a query to time, else -1. */
  start(): number {
    return (++this.tick & (TIME_EVERY - 1)) === 0 ? performance.now() : -1;
  }

  /** One query answered: `kind` = the reply's RCODE, + 16 for a reverse lookup, -1 = no reply (a cached Entry carries it). `t0` from start(). */
  answered(t0: number, kind: number): void {
    const s = kind >= 16 ? this.ptr : this.domain;
    if (t0 < 0) s.tally(); else s.observeSampled(performance.now() - t0, TIME_EVERY);
    if (kind < 0) return;
    const rc = kind & 15;
    let r = this.#rcodes[rc]!;
    if (r === null) r = this.#rcodes[rc] = M.dnsResponses.series(RCODE_NAMES[rc]!);
    r.inc();
  }

  /** As answered(), from the reply bytes (the slower paths: errors, replies built without an entry, forwarding). */
  reply(t0: number, arpa: boolean, reply: Buffer | null): Buffer | null {
    this.answered(t0, reply !== null && reply.length >= 4 ? (reply[3]! & 15) | (arpa ? 16 : 0) : -1);
    return reply;
  }
}
