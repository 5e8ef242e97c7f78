/**
 * Deterministic benchmark data (same generator as shared/bench/gen-zone.js, fixed seed): 1,000
 * services × 3 instances on 300 nodes, as a catalog for Roster and as an RFC 1035 zone for
 * Knot/NSD; 100k dnsperf lines, 50% A / 50% SRV. Output: bench/.work/dns/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { prng } from '../../src/util/prng.ts';

const SERVICES = 1000; const INSTANCES = 3; const NODES = 300; const QUERIES = 100_000;
export const OUT = path.join(import.meta.dirname, '..', '.work', 'dns');

export interface BenchCatalog { nodes: { name: string; ip: string }[]; services: { name: string; instances: { node: number; port: number }[] }[] }

export function generate(): BenchCatalog {
  const rnd = prng(0xc0ffee);
  const ri = (n: number): number => Math.floor(rnd() * n);
  const nodes = Array.from({ length: NODES }, (_, i) => ({ name: `node${i}`, ip: `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}` }));
  const services: BenchCatalog['services'] = [];
  for (let s = 0; s < SERVICES; s++) {
    const used = new Set<number>(); const instances: { node: number; port: number }[] = [];
    while (instances.length < INSTANCES) {
      const n = ri(NODES);
      if (used.has(n)) continue;
      used.add(n); instances.push({ node: n, port: 20000 + ri(12000) });
    }
    services.push({ name: `svc${String(s).padStart(4, '0')}`, instances });
  }
  mkdirSync(OUT, { recursive: true });
  writeFileSync(path.join(OUT, 'catalog.json'), JSON.stringify({ nodes, services }));
  const z = ['$ORIGIN consul.', '$TTL 0', '@ IN SOA ns.consul. hostmaster.consul. 1 3600 600 86400 0', '@ IN NS ns.consul.', 'ns.consul. IN A 127.0.0.1'];
  for (const n of nodes) z.push(`${n.name}.node.dc1.consul. IN A ${n.ip}`);
  for (const s of services) {
    for (const i of s.instances) z.push(`${s.name}.service.consul. IN A ${nodes[i.node]!.ip}`);
    for (const i of s.instances) z.push(`${s.name}.service.consul. IN SRV 1 1 ${i.port} ${nodes[i.node]!.name}.node.dc1.consul.`);
  }
  writeFileSync(path.join(OUT, 'consul.zone'), z.join('\n') + '\n');
  const q: string[] = [];
  for (let i = 0; i < QUERIES; i++) q.push(`${services[ri(SERVICES)]!.name}.service.consul ${rnd() < 0.5 ? 'A' : 'SRV'}`);
  writeFileSync(path.join(OUT, 'queries-mix.txt'), q.join('\n') + '\n');
  return { nodes, services };
}

if (import.meta.main) { generate(); console.log(`data in ${OUT}`); }
