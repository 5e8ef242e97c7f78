/**
 * Big services (issue 19 §2), in-process: a service with 1,000 instances in a 50,000-instance
 * catalog (bench/dns/big-catalog.ts), answered by Roster's DnsServer.
 *
 * - cache miss: one instance's check flips (a one-check delta, as the syncer applies it), then
 *   one query is answered; the time of that `handle()` call is the miss. A with EDNS 4096 over
 *   UDP and SRV over TCP, p50/p99/max over ROUNDS flips each.
 * - flip cost: CPU (user + system) from applying one flip until every answer about the service
 *   that was cached before it (A/SRV × UDP plain, UDP EDNS 4096, TCP) has been answered again.
 * - rotation: CPU per cached-answer refresh (the re-assembly that gives every instance its turn
 *   in trimmed answers), measured as CPU per query over many hits minus the cached-hit cost.
 *
 *   node bench/dns/big.ts [--rounds 1000] [--big 1000] [--total 50000]
 */
import dnsPacket from 'dns-packet';
import { CatalogView } from '../../src/catalog/view.ts';
import { defaultConfig } from '../../src/config/schema.ts';
import { DnsHandler } from '../../src/dns/handler.ts';
import { runtimeFrom } from '../../src/dns/runtime.ts';
import { bigCatalog, check } from './big-catalog.ts';

const args = process.argv.slice(2);
const opt = (k: string, d: string): string => { const i = args.indexOf(k); return i >= 0 ? args[i + 1]! : d; };
const ROUNDS = Number(opt('--rounds', '1000'));
const cat = bigCatalog(Number(opt('--big', '1000')), Number(opt('--total', '50000')));
const view = new CatalogView();
let rev = 1;
view.replaceAll(cat.states.values(), rev);
// The handler as DnsServer runs it: UDP replies are copied out of the cache, TCP ones written as chunks.
const handler = new DnsHandler(view, runtimeFrom(defaultConfig()), null);
view.on('change', c => handler.onChange(c));

const q = (type: 'A' | 'SRV', edns: number | null): Buffer => dnsPacket.encode({ id: 9, type: 'query', flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ name: 'big.service.consul', type, class: 'IN' }], additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: edns } as never] : [] });
const kinds: [string, Buffer, 'udp' | 'tcp'][] = [
  ['A udp', q('A', null), 'udp'], ['A udp edns4096', q('A', 4096), 'udp'], ['A tcp', q('A', null), 'tcp'],
  ['SRV udp', q('SRV', null), 'udp'], ['SRV udp edns4096', q('SRV', 4096), 'udp'], ['SRV tcp', q('SRV', null), 'tcp'],
];
const ask = (b: Buffer, tr: 'udp' | 'tcp'): Buffer => {
  const r = tr === 'udp' ? handler.handle(b, tr) : handler.handleChunks(b, tr);
  return Array.isArray(r) ? Buffer.concat(r) : r as Buffer; // (the concat only for the size column; timed calls below skip it)
};
const askTimed = (b: Buffer, tr: 'udp' | 'tcp'): unknown => tr === 'udp' ? handler.handle(b, tr) : handler.handleChunks(b, tr);

let flipped: { node: string; id: string } | null = null;
function flip(): void {
  const inst = flipped ?? cat.big[Math.floor(Math.random() * cat.big.length)]!;
  flipped = flipped ? null : inst;
  const st = view.node(inst.node)!;
  const old = st.checks.get(`check-${inst.id}`)!;
  const rec = check(old.Node, inst.id, old.ServiceName, old.Status === 'passing' ? 'critical' : 'passing');
  view.patchNode(inst.node, new Map(), new Map([[rec.CheckID, rec]]), ++rev);
}
const pct = (a: number[], p: number): number => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * p))]!; };
const f = (x: number): string => x.toFixed(2);

for (const [, b, tr] of kinds) ask(b, tr); // warm: every instance encoded once, JIT
for (let i = 0; i < 20; i++) { flip(); for (const [, b, tr] of kinds) ask(b, tr); }

const rows: string[] = [];
for (const [name, b, tr] of [kinds[1]!, kinds[5]!, kinds[0]!, kinds[3]!]) {
  const t: number[] = [];
  let size = 0; let an = 0;
  for (let i = 0; i < ROUNDS; i++) {
    flip();
    const t0 = process.hrtime.bigint();
    askTimed(b, tr);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const r = ask(b, tr);
    size = r.length; an = r.readUInt16BE(6);
    for (let k = 0; k < 50; k++) askTimed(b, tr); // some hits between misses, as under load
  }
  rows.push(`| cache miss, ${name} (${an} answers, ${size} B) | ${f(pct(t, 0.5))} | ${f(pct(t, 0.99))} | ${f(Math.max(...t))} |`);
}

const cpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const flips: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  for (const [, b, tr] of kinds) askTimed(b, tr);
  const c0 = cpu();
  flip();
  for (const [, b, tr] of kinds) askTimed(b, tr);
  flips.push(cpu() - c0);
}
rows.push(`| check flip: apply + rebuild all ${kinds.length} cached answers (CPU ms) | ${f(pct(flips, 0.5))} | ${f(pct(flips, 0.99))} | ${f(Math.max(...flips))} |`);
// The mean carries the garbage collector's share (process CPU includes V8's background GC threads), spread over the flips that caused it.
rows.push(`| check flip: mean CPU over ${ROUNDS} flips, GC included (ms) | ${f(flips.reduce((a, b) => a + b, 0) / flips.length)} | | |`);

const N = 200_000;
const hitCost = (b: Buffer, tr: 'udp' | 'tcp'): number => { const c0 = cpu(); for (let i = 0; i < N; i++) askTimed(b, tr); return (cpu() - c0) * 1000 / N; };
const srvTcp = kinds[5]![1];
rows.push(`| SRV tcp: CPU per query over ${N} queries, rotations included (µs) | ${f(hitCost(srvTcp, 'tcp'))} | | |`);

const s = { hits: handler.cache.hits, misses: handler.cache.misses, entries: handler.cache.size };
console.log(`big service: ${cat.big.length} instances, ${[...cat.states.values()].reduce((n, st) => n + st.services.size, 0)} in the catalog, ${cat.states.size} nodes; ${ROUNDS} rounds; Node ${process.version}`);
console.log('| measure | p50 ms | p99 ms | max ms |\n|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`cache: hits ${s.hits}, misses ${s.misses}, entries ${s.entries}`);
