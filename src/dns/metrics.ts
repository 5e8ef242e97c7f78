/**
 * @module What the DNS handler records per query, without allocating: the handler holds these
 * series and bumps their number fields. `consul.dns.domain_query` / `consul.dns.ptr_query` (ms,
 * labelled with the agent's node name, as Consul's), `roster.dns.responses{rcode}`, answer-cache
 * hits and misses; the cache's size is a gauge read at scrape time.
 */
import { metrics, M, type Series } from '../util/metrics/index.ts';

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE', 'RCODE11', 'RCODE12', 'RCODE13', 'RCODE14', 'RCODE15'];

export class DnsMetrics {
  readonly domain: Series;
  readonly ptr: Series;
  readonly hits = M.dnsCacheHits.series();
  readonly misses = M.dnsCacheMisses.series();
  readonly #rcodes: Series[];

  constructor(node: string) {
    this.domain = M.dnsDomainQuery.series(node);
    this.ptr = M.dnsPtrQuery.series(node);
    // Created when first seen, then kept: RCODE families stay small.
    this.#rcodes = RCODE_NAMES.map(() => null as unknown as Series);
  }

  /** Recording is on (telemetry { disable } turns it off). */
  get on(): boolean { return metrics.settings.enabled; }

  /** One query answered (`reply` null = dropped, not counted as a response). */
  done(t0: number, arpa: boolean, reply: Buffer | Buffer[] | null): void {
    (arpa ? this.ptr : this.domain).observe(performance.now() - t0);
    if (reply === null) return;
    const b = Buffer.isBuffer(reply) ? reply : reply[0]!;
    if (b.length < 4) return;
    const rc = b[3]! & 0x0f;
    let s = this.#rcodes[rc];
    if (s === null) s = this.#rcodes[rc] = M.dnsResponses.series(RCODE_NAMES[rc]!);
    s.inc();
  }
}
