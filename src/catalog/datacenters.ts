/**
 * @module What the agent knows of other datacenters (from the WAN pool): their live servers with
 * the HTTP and DNS addresses to forward to, and their distance. HTTP forwarding (`?dc=`), DNS for
 * `<dc>` names and prepared-query failover read it; src/agent/wan.ts implements it.
 */

/** One server of a datacenter as the WAN pool sees it (`<node>.<dc>`). */
export interface DcServer {
  /** WAN member name, `<node>.<dc>`. */
  name: string;
  dc: string;
  /** `host:port` of its HTTP API. */
  http: string;
  /** `host:port` of its DNS server, '' when it did not announce one. */
  dns: string;
  /** Smoothed round-trip time of WAN probes in ms; undefined before the first probe. */
  rttMs: number | undefined;
}

export interface DcDirectory {
  /** This agent's datacenter. */
  readonly local: string;
  /** True when the WAN pool has (or had, failed but not left) a member of `dc`. */
  known(dc: string): boolean;
  /**
   * The servers of `dc` to try, best first: alive in the pool and not recently refused a
   * connection, ordered by RTT. Empty for this agent's own datacenter.
   */
  servers(dc: string): DcServer[];
  /** Every known datacenter: the local one first, then by median RTT, ties by name (Consul's GetDatacentersByDistance). */
  datacenters(): string[];
  /** Every WAN member not left, `<node>.<dc>`, with its datacenter (/v1/coordinate/datacenters). */
  membersByDc(): { name: string; dc: string }[];
  /** A server refused or timed out a connection: skipped for a while (until it answers a probe again or the hold-down ends). */
  markDown(name: string): void;
}

/** Sorts datacenters as Consul does: by name, then stable by median RTT (the local one counts 0, unmeasured +∞). */
export function byDistance(local: string, rtts: Map<string, number[]>): string[] {
  const median = (xs: number[]): number => {
    if (xs.length === 0) return Infinity;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor((s.length - 1) / 2)]!;
  };
  const dcs = [...new Set([local, ...rtts.keys()])].sort();
  const d = new Map(dcs.map(dc => [dc, dc === local ? 0 : median(rtts.get(dc) ?? [])]));
  return dcs.sort((a, b) => {
    const x = d.get(a)!; const y = d.get(b)!;
    return x === y ? 0 : x < y ? -1 : 1;
  });
}
