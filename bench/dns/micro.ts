/**
 * Microbenchmark: what the DNS libraries cost on Roster's paths, next to Roster's own code.
 * In-process, one core, no sockets. `node bench/dns/micro.ts` prints a Markdown table.
 *
 * - decode a query (question + OPT): Roster's parseRequest vs dns-packet / dns2 / native-dns-packet
 * - encode a cached answer (3 SRV + 3 A, compressed): Roster's encoder vs dns2 / native-dns-packet / dns-packet
 * - the whole per-query hot path: handle() on a cached answer (parse, lookup, copy, patch)
 * - a cache miss: building all variants of an SRV answer from the CatalogView
 */
import { createRequire } from 'node:module';
import dnsPacket from 'dns-packet';
import { parseRequest } from '../../src/dns/request.ts';
import { encodeMsg, newMsg, T, parseIP, rrA } from '../../src/dns/wire.ts';
import type { Msg } from '../../src/dns/wire.ts';
import { CatalogView } from '../../src/catalog/view.ts';
import type { NodeState } from '../../src/catalog/model.ts';
import { defaultConfig } from '../../src/config/schema.ts';
import { DnsServer } from '../../src/dns/server.ts';

const require = createRequire(import.meta.url);
const { Packet } = require('dns2') as { Packet: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
const NPacket = require('native-dns-packet') as any; // eslint-disable-line @typescript-eslint/no-explicit-any

function bench(name: string, fn: () => unknown, ms = 1500): [string, number] {
  for (let i = 0; i < 20000; i++) fn();
  let n = 0; const t0 = performance.now(); let t = t0;
  while (t - t0 < ms) { for (let i = 0; i < 1000; i++) fn(); n += 1000; t = performance.now(); }
  return [name, ((t - t0) * 1000) / n];
}

const NAME = 'svc0042.service.consul';
const query = dnsPacket.encode({ id: 1, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: NAME, type: 'SRV', class: 'IN' }],
  additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as never] });
const inst = [0, 1, 2].map(i => ({ node: `node${i}.node.dc1.consul`, ip: `10.1.0.${i}`, port: 20000 + i }));

function rosterMsg(): Msg {
  const m = newMsg({ name: NAME + '.', type: T.SRV, cls: 1 }); m.aa = true;
  for (const i of inst) {
    m.answer.push({ name: NAME + '.', type: T.SRV, ttl: 0, data: { k: 'srv', priority: 1, weight: 1, port: i.port, target: i.node + '.' } });
    m.additional.push(rrA(i.node + '.', 0, parseIP(i.ip)!));
  }
  return m;
}
function dns2Build(): Buffer {
  const r = new Packet(); r.header.qr = 1; r.header.aa = 1;
  r.questions.push({ name: NAME, type: Packet.TYPE.SRV, class: Packet.CLASS.IN });
  for (const i of inst) {
    r.answers.push({ name: NAME, type: Packet.TYPE.SRV, class: Packet.CLASS.IN, ttl: 0, priority: 1, weight: 1, port: i.port, target: i.node });
    r.additionals.push({ name: i.node, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 0, address: i.ip });
  }
  return r.toBuffer();
}
const ndpBuf = Buffer.alloc(4096);
function ndpBuild(): number {
  const r = new NPacket(); r.header.qr = 1; r.header.aa = 1;
  r.question.push({ name: NAME, type: T.SRV, class: 1 });
  for (const i of inst) {
    r.answer.push({ name: NAME, type: T.SRV, class: 1, ttl: 0, priority: 1, weight: 1, port: i.port, target: i.node });
    r.additional.push({ name: i.node, type: T.A, class: 1, ttl: 0, address: i.ip });
  }
  return NPacket.write(ndpBuf, r);
}
function dnsPacketBuild(): Buffer {
  return dnsPacket.encode({ id: 0, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: [{ name: NAME, type: 'SRV', class: 'IN' }],
    answers: inst.map(i => ({ name: NAME, type: 'SRV' as const, class: 'IN' as const, ttl: 0, data: { priority: 1, weight: 1, port: i.port, target: i.node } })),
    additionals: inst.map(i => ({ name: i.node, type: 'A' as const, class: 'IN' as const, ttl: 0, data: i.ip })) });
}

// a server over 1,000 services × 3 instances for the hot path and the miss
const view = new CatalogView();
const states: NodeState[] = [];
for (let n = 0; n < 300; n++) states.push({ node: { ID: '', Node: `node${n}`, Address: `10.1.${n >> 8}.${n & 255}`, Datacenter: 'dc1', TaggedAddresses: {}, Meta: {}, CreateIndex: 1, ModifyIndex: 1 }, services: new Map(), checks: new Map() });
for (let s = 0; s < 1000; s++) for (let k = 0; k < 3; k++) {
  const st = states[(s * 7 + k * 101) % 300]!; const id = `svc${String(s).padStart(4, '0')}-${k}`;
  st.services.set(id, { ID: id, Service: `svc${String(s).padStart(4, '0')}`, Tags: [], Address: '', Meta: {}, Port: 20000 + k, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: 1, ModifyIndex: 1 });
}
view.replaceAll(states, 1);
const server = new DnsServer({ view, config: defaultConfig() });
const plainQuery = dnsPacket.encode({ id: 7, type: 'query', questions: [{ name: NAME, type: 'SRV', class: 'IN' }] });
let svcN = 0;

const rows: [string, number][] = [
  bench('decode query: Roster parseRequest (hand-written, lazy name)', () => parseRequest(query)),
  bench('decode query: dns-packet decode()', () => dnsPacket.decode(query)),
  bench('decode query: dns2 Packet.parse()', () => Packet.parse(query)),
  bench('decode query: native-dns-packet parse()', () => NPacket.parse(query)),
  bench('encode 3 SRV + 3 A: Roster encodeMsg (compressed)', () => encodeMsg(rosterMsg(), true)),
  bench('encode 3 SRV + 3 A: dns2 toBuffer() (compressed)', dns2Build),
  bench('encode 3 SRV + 3 A: native-dns-packet write() (compressed)', ndpBuild),
  bench('encode 3 SRV + 3 A: dns-packet encode() (no compression)', dnsPacketBuild),
  bench('hot path: handle() on a cached SRV answer (no EDNS)', () => server.handle(plainQuery, 'udp')),
  bench('hot path: handle() on a cached SRV answer (EDNS 1232)', () => server.handle(query, 'udp')),
  bench('cache miss: build + trim + encode all variants of one SRV answer', () => {
    svcN = (svcN + 1) % 1000;
    view.putNode(`node${(svcN * 7) % 300}`, view.node(`node${(svcN * 7) % 300}`)!, 0);
    return server.handle(plainQuery, 'udp');
  }, 800),
];
const sizes = { roster: encodeMsg(rosterMsg(), true).buf.length, dns2: dns2Build().length, ndp: ndpBuild(), dnsPacket: dnsPacketBuild().length };
console.log('| operation | µs/op | ops/s |\n|---|---|---|');
for (const [n, us] of rows) console.log(`| ${n} | ${us.toFixed(2)} | ${(1e6 / us / 1000).toFixed(0)}k |`);
console.log(`\nEncoded sizes of the 3 SRV + 3 A answer (bytes): Roster ${sizes.roster}, dns2 ${sizes.dns2}, native-dns-packet ${sizes.ndp}, dns-packet ${sizes.dnsPacket}.`);
