/**
 * A DNS fixture: Roster's DnsServer over a fixed in-memory catalog (no Redis). Importable
 * (`startDnsFixture`) and runnable as a process, which the namespace tests start inside a
 * network namespace:
 *
 *   node integration/helpers/dns-fixture.ts [--host 127.0.0.1] [--port 0] [--truncate] [--many 40]
 *
 * prints `ready <port>` once UDP and TCP are bound, and exits on SIGTERM/SIGINT.
 */
import { CatalogView } from '../../src/catalog/view.ts';
import type { NodeState, NodeRec, ServiceRec } from '../../src/catalog/model.ts';
import { defaultConfig } from '../../src/config/schema.ts';
import type { Config } from '../../src/config/schema.ts';
import { DnsServer } from '../../src/dns/server.ts';

function n(name: string, address: string, meta: Record<string, string> = {}): NodeRec {
  return { ID: '', Node: name, Address: address, Datacenter: 'dc1', TaggedAddresses: {}, Meta: meta, CreateIndex: 1, ModifyIndex: 1 };
}
function s(name: string, port: number, id = name, tags: string[] = []): ServiceRec {
  return { ID: id, Service: name, Tags: tags, Address: '', Meta: {}, Port: port, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: 1, ModifyIndex: 1 };
}
function st(node: NodeRec, services: ServiceRec[]): NodeState {
  return { node, services: new Map(services.map(x => [x.ID, x])), checks: new Map() };
}

/** web ×3 (127.0.0.10–12), db ×1 tagged primary, the `consul` service on server1, and `many` ×N. */
export function fixtureStates(many = 40): NodeState[] {
  const out = [
    st(n('web1', '127.0.0.10', { rack: 'a' }), [s('web', 8080)]),
    st(n('web2', '127.0.0.11', { rack: 'b' }), [s('web', 8081)]),
    st(n('web3', '127.0.0.12', { rack: 'c' }), [s('web', 8082), s('db', 5432, 'db', ['primary'])]),
    st(n('server1', '127.0.0.1'), [s('consul', 8300)]),
  ];
  for (let i = 0; i < many; i++) out.push(st(n(`m${i}`, `127.0.1.${i + 1}`), [s('many', 9000 + i)]));
  return out;
}

export interface FixtureOptions { host?: string; port?: number; enableTruncate?: boolean; many?: number; recursors?: string[]; zoneDirs?: string[]; answerThread?: boolean; nodeName?: string }

export async function startDnsFixture(o: FixtureOptions = {}): Promise<{ server: DnsServer; view: CatalogView; port: number; close(): Promise<void> }> {
  const view = new CatalogView();
  view.replaceAll(fixtureStates(o.many), 1);
  const c = defaultConfig();
  const config: Config = {
    ...c, nodeName: o.nodeName ?? 'fixture', clientAddr: o.host ?? '127.0.0.1', ports: { ...c.ports, dns: o.port ?? 0 }, recursors: o.recursors ?? [],
    zoneDirs: o.zoneDirs ?? [], dns: { ...c.dns, enableTruncate: o.enableTruncate ?? false, answerThread: o.answerThread ?? c.dns.answerThread },
  };
  const server = new DnsServer({ view, config });
  const { udpPort } = await server.listen();
  return { server, view, port: udpPort, close: () => server.close() };
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const opt = (k: string): string | undefined => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : undefined; };
  const f = await startDnsFixture({
    host: opt('--host'), port: Number(opt('--port') ?? 0), enableTruncate: args.includes('--truncate'), many: Number(opt('--many') ?? 40),
  });
  process.stdout.write(`ready ${f.port}\n`);
  const stop = (): void => { void f.close().then(() => process.exit(0)); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
