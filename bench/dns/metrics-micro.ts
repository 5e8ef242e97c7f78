/**
 * In-process counterpart of bench/dns/metrics.sh (issue 16): the per-query path, handle() over the
 * query mix and catalog of bench/dns (answers cached after the first pass), with per-query metrics on and off, in alternating 200 ms blocks on one core
 * (so both see the same machine load). (That recording allocates nothing is a unit test:
 * test/util/metrics.test.ts.)
 *
 *   node bench/dns/metrics-micro.ts [seconds per side, default 8]
 *   AA=off node bench/dns/metrics-micro.ts    # A/A: both without metrics (AA=on: both with)
 */
import dnsPacket from 'dns-packet';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CatalogView } from '../../src/catalog/view.ts';
import { OUT, type BenchCatalog } from './gen-data.ts';
import type { NodeState } from '../../src/catalog/model.ts';
import { defaultConfig } from '../../src/config/schema.ts';
import { DnsServer } from '../../src/dns/server.ts';
import { DnsMetrics } from '../../src/dns/metrics.ts';

const secs = Number(process.argv[2] ?? 8);
// The catalog and query mix of bench/dns (1,000 services × 3 instances; `node bench/dns/gen-data.ts` writes them).
const cat = JSON.parse(readFileSync(path.join(OUT, 'catalog.json'), 'utf8')) as BenchCatalog;
const states = new Map<string, NodeState>();
for (const n of cat.nodes) states.set(n.name, { node: { ID: '', Node: n.name, Address: n.ip, Datacenter: 'dc1', TaggedAddresses: {}, Meta: {}, CreateIndex: 1, ModifyIndex: 1 }, services: new Map(), checks: new Map() });
for (const sv of cat.services) {
  for (const [k, i] of sv.instances.entries()) {
    const id = `${sv.name}-${k}`;
    states.get(cat.nodes[i.node]!.name)!.services.set(id, { ID: id, Service: sv.name, Tags: [], Address: '', Meta: {}, Port: i.port, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: 1, ModifyIndex: 1 });
  }
}
const view = new CatalogView();
view.replaceAll(states.values(), 1);
const cfg = { ...defaultConfig(), nodeName: 'bench' };
// AA=off / AA=on: both servers the same (how far apart two equal servers land).
const on = new DnsServer({ view, config: cfg, metrics: process.env.AA !== 'off' });
const off = new DnsServer({ view, config: cfg, metrics: process.env.AA === 'on' });
const queries = readFileSync(path.join(OUT, 'queries-mix.txt'), 'utf8').trim().split('\n').slice(0, 20_000).map((l, i) => {
  const [name, type] = l.split(' ');
  return dnsPacket.encode({ id: i & 0xffff, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: name!, type: type as 'A', class: 'IN' }] });
});
let qi = 0;

function block(s: DnsServer, ms: number): { n: number; t: number } {
  let n = 0; const t0 = performance.now(); let t = t0;
  while (t - t0 < ms) { for (let i = 0; i < 1000; i++) { s.handle(queries[qi]!, 'udp'); if (++qi === queries.length) qi = 0; } n += 1000; t = performance.now(); }
  return { n, t: t - t0 };
}
for (const s of [on, off]) block(s, 500); // warm-up, JIT
const res = { on: [] as number[], off: [] as number[] };
for (let i = 0; i < (secs * 1000) / 200; i++) {
  const order: ['on' | 'off', DnsServer][] = i % 2 ? [['off', off], ['on', on]] : [['on', on], ['off', off]];
  for (const [k, s] of order) { const b = block(s, 200); res[k].push((b.t * 1e6) / b.n); }
}
const med = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]!; };
const onNs = med(res.on), offNs = med(res.off);
console.log('| metrics | ns/query (median of %d blocks) | queries/s on one core |', res.on.length);
console.log('|---|---|---|');
console.log(`| on | ${onNs.toFixed(0)} | ${Math.round(1e9 / onNs)} |`);
console.log(`| off | ${offNs.toFixed(0)} | ${Math.round(1e9 / offNs)} |`);
// The recording alone, as the handler does it per query (start + answered with a cached entry's kind), in a tight loop.
const dm = new DnsMetrics('bench-alone');
let sink = 0;
const rec = (): void => { const t0 = dm.start(); dm.answered(t0, 0); sink++; };
for (let i = 0; i < 1e6; i++) rec();
const recNs: number[] = [];
for (let b = 0; b < 15; b++) { const t0 = performance.now(); for (let i = 0; i < 1e6; i++) rec(); recNs.push((performance.now() - t0) * 1e6 / 1e6); }
console.log(`\nrecording alone: ${med(recNs).toFixed(1)} ns per query (median of 15 × 1M; ${sink} recorded)`);
console.log(`\nmetrics on vs off: ${(((1e9 / onNs) - (1e9 / offNs)) / (1e9 / offNs) * 100).toFixed(1)} % queries/s`);
process.exit(0);
