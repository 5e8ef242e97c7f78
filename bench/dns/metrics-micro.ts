/**
 * In-process counterpart of bench/dns/metrics.sh (issue 16): the per-query hot path, handle() on a
 * cached SRV answer, with per-query metrics on and off, in alternating 200 ms blocks on one core
 * (so both see the same machine load). (That recording allocates nothing is a unit test:
 * test/util/metrics.test.ts.)
 *
 *   node bench/dns/metrics-micro.ts [seconds per side, default 8]
 */
import dnsPacket from 'dns-packet';
import { CatalogView } from '../../src/catalog/view.ts';
import type { NodeState } from '../../src/catalog/model.ts';
import { defaultConfig } from '../../src/config/schema.ts';
import { DnsServer } from '../../src/dns/server.ts';

const secs = Number(process.argv[2] ?? 8);
const view = new CatalogView();
const states: NodeState[] = [];
for (let n = 0; n < 30; n++) {
  const st: NodeState = { node: { ID: '', Node: `node${n}`, Address: `10.0.0.${n}`, Datacenter: 'dc1', TaggedAddresses: {}, Meta: {}, CreateIndex: 1, ModifyIndex: 1 }, services: new Map(), checks: new Map() };
  for (let s = 0; s < 10; s++) {
    const id = `svc${String(s).padStart(4, '0')}-${n}`;
    st.services.set(id, { ID: id, Service: `svc${String(s).padStart(4, '0')}`, Tags: [], Address: '', Meta: {}, Port: 20000 + n, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: 1, ModifyIndex: 1 });
  }
  states.push(st);
}
view.replaceAll(states, 1);
const cfg = { ...defaultConfig(), nodeName: 'bench' };
const on = new DnsServer({ view, config: cfg, metrics: true });
const off = new DnsServer({ view, config: cfg, metrics: false });
const query = dnsPacket.encode({ id: 1, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'svc0004.service.consul', type: 'SRV', class: 'IN' }] });

function block(s: DnsServer, ms: number): { n: number; t: number } {
  let n = 0; const t0 = performance.now(); let t = t0;
  while (t - t0 < ms) { for (let i = 0; i < 1000; i++) s.handle(query, 'udp'); n += 1000; t = performance.now(); }
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
console.log(`\nmetrics on vs off: ${(((1e9 / onNs) - (1e9 / offNs)) / (1e9 / offNs) * 100).toFixed(1)} % queries/s`);
process.exit(0);
