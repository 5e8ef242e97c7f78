/**
 * @module Test fixtures for the DNS server: catalog records in Consul's shapes, a DnsServer
 * over an in-memory CatalogView, and `ask()` which encodes a question, calls handle() without
 * sockets, and decodes the reply with dns-packet (an independent decoder).
 */
import dnsPacket from 'dns-packet';
import type { Packet } from 'dns-packet';
import { CatalogView } from '../../src/catalog/view.ts';
import type { NodeRec, ServiceRec, CheckRec, NodeState, HealthStatus } from '../../src/catalog/model.ts';
import { defaultConfig } from '../../src/config/schema.ts';
import type { Config } from '../../src/config/schema.ts';
import { DnsServer } from '../../src/dns/server.ts';

export function node(name: string, address: string, o: { meta?: Record<string, string>; tagged?: Record<string, string>; dc?: string } = {}): NodeRec {
  return { ID: '', Node: name, Address: address, Datacenter: o.dc ?? 'dc1', TaggedAddresses: o.tagged ?? {}, Meta: o.meta ?? {}, CreateIndex: 1, ModifyIndex: 1 };
}

export function svc(name: string, o: { id?: string; address?: string; port?: number; tags?: string[]; weights?: { Passing: number; Warning: number }; tagged?: Record<string, { Address: string; Port: number }> } = {}): ServiceRec {
  return {
    ID: o.id ?? name, Service: name, Tags: o.tags ?? [], Address: o.address ?? '', Meta: {}, Port: o.port ?? 8080,
    Weights: o.weights ?? { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: 1, ModifyIndex: 1,
    ...(o.tagged ? { TaggedAddresses: o.tagged } : {}),
  };
}

export function check(nodeName: string, id: string, status: HealthStatus, serviceID = '', serviceName = ''): CheckRec {
  return {
    Node: nodeName, CheckID: id, Name: id, Status: status, Notes: '', Output: '', ServiceID: serviceID, ServiceName: serviceName,
    ServiceTags: [], Type: 'ttl', Interval: '', Timeout: '', ExposedPort: 0, Definition: {}, CreateIndex: 1, ModifyIndex: 1,
  };
}

export function state(n: NodeRec, services: ServiceRec[] = [], checks: CheckRec[] = []): NodeState {
  return { node: n, services: new Map(services.map(s => [s.ID, s])), checks: new Map(checks.map(c => [c.CheckID, c])) };
}

export type ConfigPatch = Partial<Omit<Config, 'dns'>> & { dns?: Partial<Config['dns']> };

export function config(p: ConfigPatch = {}): Config {
  const c = defaultConfig();
  const { dns, ...rest } = p;
  return { ...c, nodeName: 'agent', ports: { ...c.ports, dns: 0 }, ...rest, dns: { ...c.dns, ...dns } };
}

export function makeServer(states: NodeState[], p: ConfigPatch = {}): { server: DnsServer; view: CatalogView } {
  const view = new CatalogView();
  view.replaceAll(states, 1);
  return { server: new DnsServer({ view, config: config(p) }), view };
}

export interface AskOpts {
  transport?: 'udp' | 'tcp';
  edns?: number;
  ecs?: { family: number; sourcePrefixLength: number; scopePrefixLength?: number; ip: string };
  id?: number;
  rd?: boolean;
  cd?: boolean;
}

export function query(name: string, type: string, o: AskOpts = {}): Buffer {
  const additionals: dnsPacket.Answer[] = [];
  if (o.edns !== undefined || o.ecs) {
    additionals.push({ type: 'OPT', name: '.', udpPayloadSize: o.edns ?? 4096, options: o.ecs ? [{ code: 'CLIENT_SUBNET', family: o.ecs.family, sourcePrefixLength: o.ecs.sourcePrefixLength, scopePrefixLength: o.ecs.scopePrefixLength ?? 0, ip: o.ecs.ip }] : [] } as never);
  }
  let flags = 0;
  if (o.rd !== false) flags |= dnsPacket.RECURSION_DESIRED;
  if (o.cd) flags |= dnsPacket.CHECKING_DISABLED;
  return dnsPacket.encode({ id: o.id ?? 4242, type: 'query', flags, questions: [{ name, type: type as never, class: 'IN' }], additionals });
}

export interface Reply extends Packet {
  raw: Buffer;
  rcode: string;
}

export async function ask(server: DnsServer, name: string, type: string, o: AskOpts = {}): Promise<Reply> {
  const raw = await server.handle(query(name, type, o), o.transport ?? 'udp');
  if (!raw) throw new Error('no reply');
  const p = dnsPacket.decode(raw) as unknown as Reply;
  p.raw = raw;
  return p;
}

/** Answer records as compact strings: `name TTL TYPE data`. */
export function rrs(list: dnsPacket.Answer[] | undefined): string[] {
  return (list ?? []).filter(a => a.type !== 'OPT').map(fmt);
}

export function fmt(a: dnsPacket.Answer): string {
  const d = (a as { data?: unknown }).data;
  let s: string;
  if (a.type === 'SRV') { const x = d as dnsPacket.SrvData; s = `${x.priority} ${x.weight} ${x.port} ${x.target}`; }
  else if (a.type === 'SOA') { const x = d as dnsPacket.SoaData; s = `${x.mname} ${x.rname} ${x.refresh} ${x.retry} ${x.expire} ${x.minimum}`; }
  else if (a.type === 'MX') { const x = d as { preference: number; exchange: string }; s = `${x.preference} ${x.exchange}`; }
  else if (a.type === 'TXT') s = (d as Buffer[]).map(b => b.toString()).join(' ');
  else s = String(d);
  return `${a.name} ${(a as { ttl?: number }).ttl ?? 0} ${a.type} ${s}`;
}

/** One table-driven case (CoreDNS test.Case style): a catalog, a config, a question, the expected reply. */
export interface Case {
  /** The Consul Go test this mirrors, plus what is checked. */
  name: string;
  catalog?: NodeState[];
  config?: ConfigPatch;
  q: [string, string, AskOpts?];
  rcode?: string;
  /** Expected records as `fmt()` strings, compared as sorted sets. */
  answer?: string[];
  authority?: string[];
  additional?: string[];
  check?: (t: import('ava').ExecutionContext, r: Reply) => void;
}

/** Registers one ava test per case. */
export function runCases(test: import('ava').TestFn, prefix: string, cases: Case[], base: NodeState[] = []): void {
  for (const c of cases) {
    test(`${prefix}: ${c.name}`, async t => {
      const { server } = makeServer(c.catalog ?? base, c.config);
      const r = await ask(server, c.q[0], c.q[1], c.q[2]);
      if (c.rcode !== undefined) t.is(r.rcode, c.rcode, 'rcode');
      if (c.answer) t.deepEqual(rrs(r.answers).sort(), [...c.answer].sort(), 'answer');
      if (c.authority) t.deepEqual(rrs(r.authorities).sort(), [...c.authority].sort(), 'authority');
      if (c.additional) t.deepEqual(rrs(r.additionals).sort(), [...c.additional].sort(), 'additional');
      c.check?.(t, r);
      if (!c.rcode && !c.answer && !c.authority && !c.additional && !c.check) t.fail('case checks nothing');
    });
  }
}

export const SOA = (d = 'consul', ttl = 0): string => `${d} ${ttl} SOA ns.${d} hostmaster.${d} 3600 600 86400 ${ttl}`;
export const has = (flags: number | undefined, bit: number): boolean => ((flags ?? 0) & bit) !== 0;
export const AA = 1 << 10; export const TC = 1 << 9; export const RD = 1 << 8; export const RA = 1 << 7; export const CD = 1 << 4;
