/**
 * @module `<query>.query.consul` (and the RFC 2782 `_<query>._tcp.query.consul`): a prepared
 * query executed by the agent (failover included, bounded by recursor_timeout) through the
 * `QueryExecutor` it plugs in; the answer uses the query's `DNS.TTL`, else the service TTL, and
 * SRV targets name the datacenter that answered. Unknown query or no instance → NXDOMAIN + SOA;
 * instances but no record of the asked type → NOERROR + SOA (consul-dns.md §3.8).
 */
import type { Instance } from '../catalog/model.ts';
import type { Msg } from './wire.ts';
import { T, RCODE, newMsg } from './wire.ts';
import { instancesAnswer, responseDomain, soaRecord, type Ctx } from './records.ts';
import { parseName, splitLabels } from './parse-name.ts';
import type { DnsRuntime } from './runtime.ts';

/** What executing a query gave: its instances, the datacenter that answered, its TTL (seconds, null = service TTL). */
export interface QueryDnsResult { instances: Instance[]; dc: string; ttl: number | null; service: string }

/** Runs a prepared query for DNS; null = no such query (NXDOMAIN). Throws for anything else (SERVFAIL). */
export type QueryExecutor = (idOrName: string, budgetMs: number) => Promise<QueryDnsResult | null>;

/** The query a local `.query.` name asks for, or null when the name is something else. */
export function queryName(rt: DnsRuntime, lname: string, qtype: number): { query: string; respDomain: string } | null {
  if (qtype === T.SOA || qtype === T.NS || qtype === T.AXFR) return null;
  const rd = responseDomain(rt, lname);
  if (!rd) return null;
  const p = parseName(splitLabels(lname.slice(0, lname.length - rd.domain.length)), qtype === T.SRV);
  if (p.kind !== 'query' || (p.dc !== null && p.dc !== rt.dc)) return null;
  return { query: p.query, respDomain: rd.spelled };
}

/** The reply for a prepared-query name (before trimming). */
export async function queryReply(ctx: Ctx, exec: QueryExecutor, name: { query: string; respDomain: string }, lname: string, qtype: number): Promise<Msg> {
  const { rt } = ctx;
  const m = newMsg(null);
  m.aa = true; m.ra = rt.recursors.length > 0;
  const res = await exec(name.query, rt.recursorTimeoutMs);
  // With ACLs, the DNS token's view as Consul filters a query's results: service and node read.
  const acl = rt.acl;
  if (res && acl) res.instances = res.instances.filter(i => acl.allow('service', i.service.Service, 'read') && acl.allow('node', i.node.Node, 'read'));
  if (!res || res.instances.length === 0) {
    m.rcode = RCODE.NXDOMAIN;
    m.authority.push(soaRecord(rt, lname));
    return m;
  }
  const ttl = res.ttl ?? rt.serviceTtl(res.service);
  instancesAnswer(ctx, { dc: res.dc, respDomain: name.respDomain }, res.instances, lname, qtype, ttl, m);
  if (m.answer.length === 0) m.authority.push(soaRecord(rt, lname));
  return m;
}
