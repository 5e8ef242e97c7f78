/**
 * Roster's DnsServer for the benchmark: the generated catalog (1,000 services × 3 instances,
 * every instance with a passing service check) in a CatalogView, and `--mutate N` catalog
 * changes per second (a random instance's check goes critical, then passing again on the next
 * change, via view.patchNode with that one check, exactly what the Redis syncer does on a change event).
 *
 * Every --resync-ms (30 s, as the agent) the whole catalog is reloaded into the view from fresh copies,
 * as the syncer's periodic resync does.
 *
 * With `--big N --total M` it serves the big-service catalog of bench/dns/big-catalog.ts instead
 * (one service `big` with N instances among M), and the changes flip instances of `big`.
 *
 *   node bench/dns/roster-server.ts --port 5340 --mutate 10 [--resync-ms 30000] [--big 1000 --total 50000] [--metrics off] [--answer-thread on|off]
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import path from 'node:path';
import { CatalogView } from '../../src/catalog/view.ts';
import type { NodeState, CheckRec, ServiceRec } from '../../src/catalog/model.ts';
import { defaultConfig } from '../../src/config/schema.ts';
import { DnsServer } from '../../src/dns/server.ts';
import { OUT } from './gen-data.ts';
import { bigCatalog } from './big-catalog.ts';
import type { BenchCatalog } from './gen-data.ts';

const args = process.argv.slice(2);
const opt = (k: string, d: string): string => { const i = args.indexOf(k); return i >= 0 ? args[i + 1]! : d; };
const port = Number(opt('--port', '5340'));
const mutatePerSec = Number(opt('--mutate', '10'));
// The agent's syncer reloads the whole catalog every 30 s (fresh objects from Redis, same data).
const resyncMs = Number(opt('--resync-ms', '30000'));
const bigN = Number(opt('--big', '0'));
// --metrics off: no per-query metrics (the agent always records them; issue 16 compares both).
const withMetrics = opt('--metrics', 'on') !== 'off';
// --answer-thread on|off: dns_config.answer_thread (default: as the agent, on with two or more CPUs).
const answerArg = opt('--answer-thread', '');
const states = new Map<string, NodeState>();
const instances: { node: string; id: string }[] = [];
let serviceCount = 0;
if (bigN > 0) {
  const b = bigCatalog(bigN, Number(opt('--total', '50000')));
  for (const [k, v] of b.states) states.set(k, v);
  instances.push(...b.big);
  serviceCount = new Set([...states.values()].flatMap(st => [...st.services.values()].map(s => s.Service))).size;
} else {
  const cat = JSON.parse(readFileSync(path.join(OUT, 'catalog.json'), 'utf8')) as BenchCatalog;
  serviceCount = cat.services.length;
  for (const n of cat.nodes) {
    states.set(n.name, { node: { ID: '', Node: n.name, Address: n.ip, Datacenter: 'dc1', TaggedAddresses: {}, Meta: {}, CreateIndex: 1, ModifyIndex: 1 }, services: new Map(), checks: new Map() });
  }
  for (const s of cat.services) {
    for (const [k, i] of s.instances.entries()) {
      const st = states.get(cat.nodes[i.node]!.name)!;
      const id = `${s.name}-${k}`;
      const svc: ServiceRec = { ID: id, Service: s.name, Tags: [], Address: '', Meta: {}, Port: i.port, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: 1, ModifyIndex: 1 };
      st.services.set(id, svc);
      st.checks.set(`check-${id}`, check(st.node.Node, id, s.name, 'passing'));
      instances.push({ node: st.node.Node, id });
    }
  }
}
function check(node: string, sid: string, sname: string, status: CheckRec['Status']): CheckRec {
  return { Node: node, CheckID: `check-${sid}`, Name: 'bench', Status: status, Notes: '', Output: '', ServiceID: sid, ServiceName: sname, ServiceTags: [], Type: 'ttl', Interval: '', Timeout: '', ExposedPort: 0, Definition: {}, CreateIndex: 1, ModifyIndex: 1 };
}

const view = new CatalogView();
let rev = 1;
view.replaceAll(states.values(), rev);
const base = defaultConfig();
const server = new DnsServer({ view, config: { ...base, nodeName: 'bench', clientAddr: '127.0.0.1', ports: { ...base.ports, dns: port }, dns: { ...base.dns, answerThread: answerArg === '' ? base.dns.answerThread : answerArg === 'on' } }, metrics: withMetrics });
await server.listen();

let changes = 0;
let flipped: { node: string; id: string } | null = null;
if (mutatePerSec > 0) {
  // alternate: flip a random instance's check to critical, then restore it (keeps the data set stable)
  setInterval(() => {
    const inst = flipped ?? instances[Math.floor(Math.random() * instances.length)]!;
    flipped = flipped ? null : inst;
    const st = states.get(inst.node)!;
    const old = st.checks.get(`check-${inst.id}`)!;
    const rec = check(old.Node, inst.id, old.ServiceName, old.Status === 'passing' ? 'critical' : 'passing');
    // A check update reaches the view as a one-check delta, as the syncer applies it (src/catalog/syncer.ts).
    view.patchNode(inst.node, new Map(), new Map([[rec.CheckID, rec]]), ++rev);
    changes++;
  }, 1000 / mutatePerSec);
}
let resyncs = 0;
if (resyncMs > 0) {
  setInterval(() => {
    const copy = [...view.nodes()].map(st => ({
      node: { ...st.node },
      services: new Map([...st.services].map(([k, v]) => [k, { ...v }])),
      checks: new Map([...st.checks].map(([k, v]) => [k, { ...v }])),
    }));
    view.replaceAll(copy, rev);
    resyncs++;
  }, resyncMs);
}
process.stdout.write(`ready roster on 127.0.0.1:${port} (${serviceCount} services, ${instances.length} instances, ${mutatePerSec} changes/s)\n`);
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const gcMax: Record<string, [number, number]> = {}; // kind → [count, max ms]
new PerformanceObserver(l => {
  for (const e of l.getEntries()) {
    const k = (e as unknown as { detail?: { kind?: number } }).detail?.kind === 1 ? 'minor' : 'major';
    const g = (gcMax[k] ??= [0, 0]); g[0]++; if (e.duration > g[1]) g[1] = e.duration;
  }
}).observe({ entryTypes: ['gc'] });
const stop = (): void => {
  const s = server.stats();
  const ms = (ns: number): string => (ns / 1e6).toFixed(1);
  process.stderr.write(`roster: ${changes} catalog changes, ${resyncs} full resyncs, cache hits ${s.hits}, misses ${s.misses}, entries ${s.entries}; event-loop delay p99 ${ms(loop.percentile(99))} ms, max ${ms(loop.max)} ms; GC ${Object.entries(gcMax).map(([k, [n, m]]) => `${k} ${n}× max ${m.toFixed(1)} ms`).join(', ')}\n`);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
