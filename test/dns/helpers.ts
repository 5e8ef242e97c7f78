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
  const p = dnsPacket.decode(raw) as Reply;
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
  else if (a.type === 'TXT') s = (d as Buffer[]).map(b => b.toString()).join(' ');
  else s = String(d);
  return `${a.name} ${(a as { ttl?: number }).ttl ?? 0} ${a.type} ${s}`;
}
