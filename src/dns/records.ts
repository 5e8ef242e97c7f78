/**
 * @module Consul's answers for names inside the domain: a port of agent/dns.go's dispatch,
 * service/node/addr lookups, SOA/NS and PTR onto the in-memory CatalogView.
 *
 * Everything here is synchronous. The one thing that needs the network, resolving an
 * out-of-zone hostname through the recursors (§3.7), is asked of `ctx.external`: it either has
 * the upstream records already or notes the name as pending, and the caller resolves the
 * pending names and builds again.
 *
 * Every catalog name a build reads is recorded in `ctx.deps` (`s:<service>`, `n:<node>`, `*`),
 * so that cached encodings can be dropped precisely when the view changes.
 */
import type { CatalogView } from '../catalog/view.ts';
import type { Instance, NodeRec, ServiceRec } from '../catalog/model.ts';
import { aggregateStatus, DEFAULT_WEIGHTS, isVisible } from '../catalog/model.ts';
import { answerInstances } from '../catalog/protection.ts';
import type { DnsRuntime } from './runtime.ts';
import { parseName, splitLabels } from './parse-name.ts';
import type { ParsedName } from './parse-name.ts';
import { T, RCODE, fqdn, ipHex, lowerName, parseIP, to4, formatIP, rrA, rrName, rrTXT, newMsg } from './wire.ts';
import type { Msg, RR } from './wire.ts';

/** Static records that shadow the catalog for the names they define (zones/ overlay). */
export interface Overlay {
  /** RRs for a lower-cased absolute name, or undefined when the overlay does not define it. */
  lookup(lname: string): readonly RR[] | undefined;
}

export interface Ctx {
  view: CatalogView;
  rt: DnsRuntime;
  /** The client sent EDNS (lifts the 5-record cap on recursed CNAME chains). */
  edns: boolean;
  deps: Set<string>;
  /** Out-of-zone A lookups: name → records, or null once requested and pending. */
  external: Map<string, RR[] | null>;
  /** Largest instance list shuffled during the build (decides how many variants to keep). */
  shuffled: number;
  overlay?: Overlay;
}

export type Outcome = 'ok' | 'nxdomain' | 'nodata';

const MAX_RECURSION = 3;
const MAX_RECURSE_RECORDS = 5;
const INVALID_NODE_NAME = /[^A-Za-z0-9-]/;

export function newCtx(view: CatalogView, rt: DnsRuntime, edns: boolean, overlay?: Overlay): Ctx {
  return { view, rt, edns, deps: new Set(), external: new Map(), shuffled: 0, overlay };
}

/** Fisher–Yates, in place (Consul shuffles instances and NS servers on every query). */
export function shuffle<X>(a: X[]): X[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = a[i]!; a[i] = a[j]!; a[j] = t;
  }
  return a;
}

// ---------------------------------------------------------------- domains

/** Which configured domain a name falls in (longest wins), with the question's own spelling of it. */
export function responseDomain(rt: DnsRuntime, qname: string): { domain: string; spelled: string } | null {
  const l = lowerName(fqdn(qname));
  let best: string | null = null;
  for (const d of [rt.domain, rt.altDomain]) {
    if (!d) continue;
    if ((l === d || l.endsWith('.' + d)) && (!best || d.length > best.length)) best = d;
  }
  if (!best) return null;
  const q = fqdn(qname);
  return { domain: best, spelled: q.slice(q.length - best.length) };
}

/** Encodes a node-meta pair as RFC 1464 text (Consul's encodeKVasRFC1464). */
export function encodeKVasRFC1464(key: string, value: string): string {
  let k = key.replaceAll('`', '``').replaceAll('=', '`=');
  const lead = /^ +/.exec(k)?.[0].length ?? 0;
  k = '` '.repeat(lead) + k.slice(lead);
  const trail = / +$/.exec(k)?.[0].length ?? 0;
  k = k.slice(0, k.length - trail) + '` '.repeat(trail);
  return k + '=' + value.replaceAll('`', '``');
}

export function metaTXT(owner: string, node: NodeRec, ttl: number): RR[] {
  const out: RR[] = [];
  for (const [k, v] of Object.entries(node.Meta ?? {})) {
    out.push(rrTXT(owner, ttl, k.toLowerCase().startsWith('rfc1035-') ? v : encodeKVasRFC1464(k, v)));
  }
  return out;
}

// ---------------------------------------------------------------- address translation (translate_addr.go)

const ACC_DOMAIN = 1; const ACC_V4 = 2; const ACC_V6 = 4; export const ACC_ANY = 7;

export function accept(qtype: number): number {
  return qtype === T.A ? ACC_DOMAIN | ACC_V4 : qtype === T.AAAA ? ACC_DOMAIN | ACC_V6 : ACC_ANY;
}
function translate(acc: number, def: string, v4: string, v6: string): string {
  if (acc & ACC_V6 && v6) return v6;
  if (acc & ACC_V4 && v4) return v4;
  return def; // Consul's AcceptAny is ^0, so `accept&Any > 0` always holds
}
export function serviceAddr(s: ServiceRec, acc: number): string {
  const ta = s.TaggedAddresses ?? {};
  return translate(acc, s.Address ?? '', ta['lan_ipv4']?.Address ?? '', ta['lan_ipv6']?.Address ?? '');
}
function nodeAddr(n: NodeRec, acc: number): string {
  const ta = n.TaggedAddresses ?? {};
  return translate(acc, n.Address ?? '', ta['lan_ipv4'] ?? '', ta['lan_ipv6'] ?? '');
}

/** Consul's makeARecord: which families a qtype admits (SRV/ANY/NS/TXT take either). */
function makeARecord(qtype: number, ip: Uint8Array, ttl: number, name: string): RR | null {
  const v4 = to4(ip);
  const both = qtype === T.SRV || qtype === T.ANY || qtype === T.NS || qtype === T.TXT;
  if (v4) return both || qtype === T.A ? rrA(name, ttl, v4) : null;
  return both || qtype === T.AAAA ? { name, type: T.AAAA, ttl, data: { k: 'ip', ip } } : null;
}

// ---------------------------------------------------------------- dispatch

export interface Lookup { dc: string; respDomain: string }

/**
 * Answers one in-domain question into `m` (Consul's dispatch). `level` bounds in-zone CNAME
 * chasing (3 at the top).
 */
export function dispatch(ctx: Ctx, qname: string, qtype: number, m: Msg, level = MAX_RECURSION): Outcome {
  const { rt } = ctx;
  const rd = responseDomain(rt, qname);
  if (!rd) return 'nxdomain';
  const lname = lowerName(fqdn(qname));
  if (ctx.overlay) {
    const st = ctx.overlay.lookup(lname);
    if (st) return staticAnswer(st, qname, qtype, m);
  }
  const labels = splitLabels(lname.slice(0, lname.length - rd.domain.length));
  const p: ParsedName = parseName(labels, qtype === T.SRV);
  const localDc = (dc: string | null): boolean => dc === null || dc === rt.dc;
  switch (p.kind) {
    case 'service': {
      ctx.deps.add('s:' + p.service);
      if (p.peer || !localDc(p.dc)) return 'nxdomain';
      return serviceQuery(ctx, p.service, p.tag, { dc: p.dc ?? rt.dcName, respDomain: rd.spelled }, qname, qtype, m, level);
    }
    case 'connect': case 'ingress': case 'query':
      return 'nxdomain'; // no mesh endpoints, ingress gateways or prepared queries in Roster's catalog
    case 'virtual':
      return 'ok'; // no virtual IPs: NOERROR, empty, no SOA
    case 'node': {
      if (qtype !== T.ANY && qtype !== T.A && qtype !== T.AAAA && qtype !== T.TXT) return 'ok';
      ctx.deps.add('n:' + p.node);
      if (p.peer || !localDc(p.dc)) return 'nxdomain';
      return nodeQuery(ctx, p.node, qname, qtype, m, level);
    }
    case 'addr': return addrQuery(ctx, p.hex, qname, qtype, m);
    case 'invalid': return 'nxdomain';
  }
}

/** A question for a service's instances, as dispatch would route it (see serviceQuestion). */
export interface ServiceQuestion { service: string; tag: string; lk: Lookup }

/**
 * The service lookup a question asks for, when dispatch would answer it with serviceQuery: not
 * SOA/NS/AXFR, inside a domain, not shadowed by a static zone, the local datacenter. Else null.
 */
export function serviceQuestion(rt: DnsRuntime, overlay: Overlay | undefined, qname: string, qtype: number): ServiceQuestion | null {
  if (qtype === T.SOA || qtype === T.NS || qtype === T.AXFR) return null;
  const rd = responseDomain(rt, qname);
  if (!rd) return null;
  const lname = lowerName(fqdn(qname));
  if (overlay?.lookup(lname)) return null;
  const p = parseName(splitLabels(lname.slice(0, lname.length - rd.domain.length)), qtype === T.SRV);
  if (p.kind !== 'service' || p.peer || (p.dc !== null && p.dc !== rt.dc)) return null;
  return { service: p.service, tag: p.tag, lk: { dc: p.dc ?? rt.dcName, respDomain: rd.spelled } };
}

function staticAnswer(rrs: readonly RR[], qname: string, qtype: number, m: Msg): Outcome {
  const match = rrs.filter(r => qtype === T.ANY || r.type === qtype);
  const use = match.length ? match : rrs.filter(r => r.type === T.CNAME);
  for (const r of use) m.answer.push({ ...r, name: qname });
  return use.length ? 'ok' : 'nodata';
}

function serviceQuery(ctx: Ctx, service: string, tag: string, lk: Lookup, qname: string, qtype: number, m: Msg, level: number): Outcome {
  const { rt } = ctx;
  const ltag = tag.toLowerCase();
  const acl = rt.acl;
  if (acl && !acl.allow('service', service, 'read')) return 'nxdomain';
  const tagged = ctx.view.instances(service).filter(i => (!tag || (i.service.Tags ?? []).some(t => t.toLowerCase() === ltag)) && (!acl || acl.allow('node', i.node.Node, 'read')));
  const insts = answerInstances(tagged, rt.onlyPassing, rt.protection(service), service);
  if (insts.length === 0) return 'nxdomain';
  shuffle(insts);
  if (insts.length > ctx.shuffled) ctx.shuffled = insts.length;
  const ttl = rt.serviceTtl(service);
  if (qtype === T.SRV) addSRV(ctx, lk, insts, qname, ttl, m, level);
  else addNodeRecords(ctx, lk, insts, qname, qtype, ttl, m, level);
  return m.answer.length === 0 ? 'nodata' : 'ok';
}

function rrKey(r: RR): string {
  const d = r.data;
  return `${r.name.toLowerCase()}|${r.ttl}|${r.type}|${d.k === 'ip' ? formatIP(d.ip) : d.k === 'name' ? d.name : ''}`;
}

function addNodeRecords(ctx: Ctx, lk: Lookup, insts: Instance[], qname: string, qtype: number, ttl: number, m: Msg, level: number): void {
  const handled = new Set<string>();
  let cname: RR[] | null = null;
  let count = 0;
  for (const inst of insts) {
    const [records] = nodeServiceRecords(ctx, lk, inst, qname, qtype, ttl, level);
    if (records.length === 0) continue;
    const key = rrKey(records[0]!);
    if (handled.has(key)) continue;
    handled.add(key);
    if (records[0]!.type === T.CNAME) { if (!cname) cname = records; continue; }
    m.answer.push(...records);
    if (++count === ctx.rt.aRecordLimit) return;
  }
  if (m.answer.length === 0 && cname) m.answer.push(...cname);
}

function addSRV(ctx: Ctx, lk: Lookup, insts: Instance[], qname: string, ttl: number, m: Msg, level: number): void {
  const handled = new Set<string>();
  const seenExtra = new Set<string>(); // identical additional records (same node, several ports) once
  for (const inst of insts) {
    const tuple = `${inst.node.Node}:${serviceAddr(inst.service, ACC_ANY)}:${inst.service.Port}`;
    if (handled.has(tuple)) continue;
    handled.add(tuple);
    const [answers, extra] = nodeServiceRecords(ctx, lk, inst, qname, T.SRV, ttl, level);
    m.answer.push(...answers);
    for (const x of extra) { const k = rrKey(x); if (!seenExtra.has(k)) { seenExtra.add(k); m.additional.push(x); } }
    if (ctx.rt.nodeMetaTxt) m.additional.push(...metaTXT(nodeFqdn(inst.node.Node, lk), inst.node, ttl));
  }
}

/** Answers for a list of instances chosen elsewhere (prepared queries): SRV, or A/AAAA/ANY/TXT as a service lookup does. */
export function instancesAnswer(ctx: Ctx, lk: Lookup, insts: Instance[], qname: string, qtype: number, ttl: number, m: Msg): void {
  if (insts.length > ctx.shuffled) ctx.shuffled = insts.length;
  if (qtype === T.SRV) addSRV(ctx, lk, insts, qname, ttl, m, MAX_RECURSION);
  else addNodeRecords(ctx, lk, insts, qname, qtype, ttl, m, MAX_RECURSION);
}

export function nodeFqdn(node: string, lk: Lookup): string {
  return `${node}.node.${lk.dc}.${lk.respDomain}`;
}

/** SRV weight: Weights.Passing when the instance is passing, Weights.Warning when warning (Consul's findWeight). */
export function findWeight(inst: Instance): number {
  const w = inst.service.Weights ?? DEFAULT_WEIGHTS;
  const s = aggregateStatus(inst.checks);
  return s === 'passing' ? w.Passing : s === 'warning' ? w.Warning : 0;
}

function srv(qname: string, ttl: number, inst: Instance, target: string): RR {
  return { name: qname, type: T.SRV, ttl, data: { k: 'srv', priority: 1, weight: findWeight(inst) & 0xffff, port: inst.service.Port & 0xffff, target } };
}

/** Consul's makeNodeServiceRecords: [answers, additional] for one instance. */
export function nodeServiceRecords(ctx: Ctx, lk: Lookup, inst: Instance, qname: string, qtype: number, ttl: number, level: number): [RR[], RR[]] {
  const acc = accept(qtype);
  const sAddr = serviceAddr(inst.service, acc);
  const nAddr = nodeAddr(inst.node, acc);
  if (!sAddr && !nAddr) return [[], []];
  const nodeIP = parseIP(nAddr);
  const serviceIP = parseIP(sAddr);
  if (!sAddr && nodeIP) {
    if (inst.node.Address !== nAddr) return fromIP(lk, nodeIP, inst, qname, qtype, ttl);
    return fromServiceNode(lk, inst, nodeIP, qname, qtype, ttl);
  }
  if (!sAddr) return fromFQDN(ctx, nAddr, inst, qname, qtype, ttl, level);
  if (serviceIP) return fromIP(lk, serviceIP, inst, qname, qtype, ttl);
  if (lowerName(fqdn(sAddr)) === lowerName(qname) && nodeIP) return fromServiceNode(lk, inst, nodeIP, qname, qtype, ttl);
  return fromFQDN(ctx, sAddr, inst, qname, qtype, ttl, level);
}

function fromServiceNode(lk: Lookup, inst: Instance, ip: Uint8Array, qname: string, qtype: number, ttl: number): [RR[], RR[]] {
  if (qtype === T.SRV) {
    const target = nodeFqdn(inst.node.Node, lk);
    const rec = makeARecord(qtype, ip, ttl, target);
    return rec ? [[srv(qname, ttl, inst, target)], [rec]] : [[], []];
  }
  const rec = makeARecord(qtype, ip, ttl, qname);
  return rec ? [[rec], []] : [[], []];
}

function fromIP(lk: Lookup, ip: Uint8Array, inst: Instance, qname: string, qtype: number, ttl: number): [RR[], RR[]] {
  if (qtype === T.SRV) {
    const target = `${ipHex(ip)}.addr.${lk.dc}.${lk.respDomain}`;
    const rec = makeARecord(qtype, ip, ttl, target);
    return rec ? [[srv(qname, ttl, inst, target)], [rec]] : [[], []];
  }
  const rec = makeARecord(qtype, ip, ttl, qname);
  return rec ? [[rec], []] : [[], []];
}

function fromFQDN(ctx: Ctx, host: string, inst: Instance, qname: string, qtype: number, ttl: number, level: number): [RR[], RR[]] {
  const target = fqdn(host);
  const more = resolveCNAME(ctx, target, level);
  const additional: RR[] = [];
  for (const rr of more) {
    if (rr.type !== T.CNAME && rr.type !== T.A && rr.type !== T.AAAA) continue;
    additional.push({ ...rr, ttl });
    if (additional.length === MAX_RECURSE_RECORDS && !ctx.edns) break;
  }
  if (qtype === T.SRV) return [[srv(qname, ttl, inst, target)], additional];
  return [[rrName(qname, T.CNAME, ttl, target), ...additional], []];
}

/** In-zone targets are answered internally as ANY (depth-limited); others go to the recursors. */
function resolveCNAME(ctx: Ctx, name: string, level: number): RR[] {
  const ln = lowerName(name);
  const { rt } = ctx;
  if (ln.endsWith('.' + rt.domain) || (rt.altDomain && ln.endsWith('.' + rt.altDomain))) {
    if (level < 1) return [];
    const sub = newMsg(null);
    dispatch(ctx, name, T.ANY, sub, level - 1);
    return sub.answer;
  }
  if (rt.recursors.length === 0) return [];
  const hit = ctx.external.get(ln);
  if (hit === undefined) ctx.external.set(ln, null);
  return hit ?? [];
}

function nodeQuery(ctx: Ctx, name: string, qname: string, qtype: number, m: Msg, level: number): Outcome {
  const st = ctx.view.node(name);
  if (!st || (ctx.rt.acl && !ctx.rt.acl.allow('node', st.node.Node, 'read'))) return 'nxdomain';
  const n = st.node;
  const metaTarget = qtype === T.TXT || qtype === T.ANY ? m.answer : m.additional;
  if (qtype !== T.TXT) m.answer.push(...recordsFromNode(ctx, n, qtype, qname, ctx.rt.nodeTtl, level));
  if (ctx.rt.nodeMetaTxt || qtype === T.TXT || qtype === T.ANY) metaTarget.push(...metaTXT(qname, n, ctx.rt.nodeTtl));
  return 'ok';
}

/** Consul's makeRecordFromNode: A/AAAA by the qtype's family, or CNAME + resolution for hostnames. */
function recordsFromNode(ctx: Ctx, n: NodeRec, qtype: number, owner: string, ttl: number, level: number): RR[] {
  const addr = nodeAddr(n, accept(qtype));
  const ip = parseIP(addr);
  if (!ip) {
    const target = fqdn(n.Address ?? '');
    return [rrName(owner, T.CNAME, ttl, target), ...resolveCNAME(ctx, target, level)];
  }
  const rec = makeARecord(qtype, ip, ttl, owner);
  return rec ? [rec] : [];
}

function addrQuery(ctx: Ctx, hex: string, qname: string, qtype: number, m: Msg): Outcome {
  if (!/^[0-9a-f]*$/.test(hex) || (hex.length !== 8 && hex.length !== 32)) return 'nxdomain';
  const ip = Uint8Array.from(Buffer.from(hex, 'hex'));
  const ttl = ctx.rt.nodeTtl;
  if (ip.length === 4) {
    const r = rrA(qname, ttl, ip);
    (qtype !== T.A && qtype !== T.ANY ? m.additional : m.answer).push(r);
  } else {
    const r: RR = { name: qname, type: T.AAAA, ttl, data: { k: 'ip', ip } };
    (qtype !== T.AAAA && qtype !== T.ANY ? m.additional : m.answer).push(r);
  }
  return 'ok';
}

// ---------------------------------------------------------------- SOA / NS

/** The apex SOA for the domain the question used (serial = now, TTL = min_ttl). */
export function soaRecord(rt: DnsRuntime, qname: string): RR {
  const domain = responseDomain(rt, qname)?.domain ?? rt.domain;
  return {
    name: domain, type: T.SOA, ttl: rt.soa.minTtl, liveSerial: true,
    data: { k: 'soa', mname: 'ns.' + domain, rname: 'hostmaster.' + domain, serial: Math.floor(Date.now() / 1000), refresh: rt.soa.refresh, retry: rt.soa.retry, expire: rt.soa.expire, minimum: rt.soa.minTtl },
  };
}

/** Up to 3 random healthy `consul` servers as NS of the apex, with glue. */
export function nameservers(ctx: Ctx, qname: string): { ns: RR[]; glue: RR[] } {
  const { rt } = ctx;
  ctx.deps.add('s:consul');
  const rd = responseDomain(rt, qname);
  const apex = rd ? rd.spelled : rt.domain;
  const insts = ctx.view.instances('consul').filter(i => isVisible(i, rt.onlyPassing));
  shuffle(insts);
  if (insts.length > ctx.shuffled) ctx.shuffled = insts.length;
  const ns: RR[] = []; const glue: RR[] = [];
  for (const inst of insts) {
    const name = inst.node.Node;
    if (INVALID_NODE_NAME.test(name)) continue;
    const target = lowerName(`${name}.node.${inst.node.Datacenter || rt.dcName}.${apex}`);
    ns.push(rrName(apex, T.NS, rt.nodeTtl, target));
    glue.push(...recordsFromNode(ctx, inst.node, T.ANY, target, rt.nodeTtl, MAX_RECURSION));
    if (ns.length >= 3) break;
  }
  return { ns, glue };
}

/** The whole in-domain reply before EDNS and trimming (Consul's handleQuery). */
export function domainReply(ctx: Ctx, qname: string, qtype: number): Msg {
  const m = newMsg(null);
  m.aa = true;
  m.ra = ctx.rt.recursors.length > 0;
  if (qtype === T.SOA) {
    const { ns, glue } = nameservers(ctx, qname);
    m.answer.push(soaRecord(ctx.rt, qname)); m.authority.push(...ns); m.additional.push(...glue);
  } else if (qtype === T.NS) {
    const { ns, glue } = nameservers(ctx, qname);
    m.answer.push(...ns); m.additional.push(...glue);
  } else if (qtype === T.AXFR) {
    m.rcode = RCODE.NOTIMP;
  } else {
    const o = dispatch(ctx, qname, qtype, m);
    if (o !== 'ok') m.authority.push(soaRecord(ctx.rt, qname));
    if (o === 'nxdomain') m.rcode = RCODE.NXDOMAIN;
  }
  return m;
}
