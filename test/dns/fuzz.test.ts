/**
 * Fuzzing the decoder + handler: 1,000,000 random and mutated packets in-process (no sockets),
 * every reply must decode (dns-packet) and be well-formed; then a smaller run over real UDP and
 * TCP sockets, after which the server must still answer. Seeded (FUZZ_SEED) for reproducibility.
 */
import test from 'ava';
import v8 from 'node:v8';
import vm from 'node:vm';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { makeServer, node, svc, state, check, query } from './helpers.ts';
import { checkMessage, parseRequest } from '../../src/dns/request.ts';
import { prng } from '../../src/util/prng.ts';
import { waitFor } from '../helpers/wait.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 0xd15ea5e);
const N = Number(process.env['FUZZ_N'] ?? 1_000_000);

const catalog = [
  state(node('foo', '127.0.0.1', { meta: { k: 'v', 'rfc1035-x': 'y' } }), [svc('db', { tags: ['primary'], port: 1 }), svc('web', { address: 'www.example.org' })]),
  state(node('bar', '::1'), [svc('db', { port: 2, address: '10.0.0.1' })], [check('bar', 'c', 'warning', 'db', 'db')]),
  state(node('host', 'db.service.consul'), [svc('alias')]),
  state(node('s1', '127.0.0.9'), [svc('consul')]),
];
const names = ['db.service.consul', 'primary.db.service.consul', '_db._tcp.service.dc1.consul', 'foo.node.consul', 'bar.node.dc1.consul', 'alias.service.consul',
  'web.service.consul', '7f000001.addr.consul', '1.0.0.127.in-addr.arpa', 'consul', 'x.query.consul', 'db.connect.consul', 'db.virtual.consul', 'example.org', 'nope.service.consul'];
const types = ['A', 'AAAA', 'SRV', 'ANY', 'TXT', 'SOA', 'NS', 'PTR', 'MX', 'AXFR', 'CNAME', 'DS'];

function corpus(): Buffer[] {
  const out: Buffer[] = [];
  for (const n of names) for (const t of types) {
    out.push(query(n, t));
    out.push(query(n, t, { edns: 1232 }));
    out.push(query(n, t, { ecs: { family: 1, sourcePrefixLength: 24, ip: '192.0.2.0' } }));
  }
  return out;
}

function mutate(r: () => number, seeds: Buffer[]): Buffer {
  const pick = (n: number): number => Math.floor(r() * n);
  const mode = pick(10);
  if (mode === 0) { const b = Buffer.alloc(pick(600)); for (let i = 0; i < b.length; i++) b[i] = pick(256); return b; }
  if (mode === 1) { // random header + random tail
    const b = Buffer.alloc(12 + pick(64)); for (let i = 0; i < b.length; i++) b[i] = pick(256);
    b[2]! &= 0x7f; b.writeUInt16BE(1, 4); b.writeUInt16BE(pick(2), 6); b.writeUInt16BE(pick(2), 8); b.writeUInt16BE(pick(3), 10);
    return b;
  }
  const b = Buffer.from(seeds[pick(seeds.length)]!);
  const edits = 1 + pick(4);
  let out = b;
  for (let e = 0; e < edits; e++) {
    const op = pick(6);
    if (op === 0 && out.length) out[pick(out.length)]! ^= 1 << pick(8);
    else if (op === 1 && out.length) out[pick(out.length)] = pick(256);
    else if (op === 2) out = out.subarray(0, pick(out.length + 1));
    else if (op === 3) out = Buffer.concat([out, Buffer.from(Array.from({ length: pick(20) }, () => pick(256)))]);
    else if (op === 4 && out.length > 12) out[12 + pick(Math.min(out.length - 12, 40))] = [0, 63, 64, 0xc0, 0xff, 1][pick(6)]!;
    else if (out.length > 12) out.writeUInt16BE([0, 1, 2, 3, 0xffff][pick(5)]!, 4 + 2 * pick(4));
  }
  if (pick(3) === 0 && out.length > 2) out[2]! &= 0x7f; // mostly queries, so the deep paths get exercised
  return out;
}

function wellFormed(req: Buffer, rep: Buffer, transport: 'udp' | 'tcp'): string | null {
  if (rep.length < 12) return 'short';
  if (rep.length > 65535) return 'too long';
  if (rep[0] !== req[0] || rep[1] !== req[1]) return 'ID';
  if (!(rep[2]! & 0x80)) return 'QR';
  if (checkMessage(rep) < 0) return 'own walker rejects it';
  try { dnsPacket.decode(rep); } catch (e) { return `dns-packet: ${(e as Error).message}`; }
  const p = parseRequest(req);
  const ednsSize = p.t === 'query' && p.edns ? p.edns.size : null;
  if (transport === 'udp' && rep.length > Math.max(512, Math.min(ednsSize ?? 0, 4096))) return `UDP reply of ${rep.length} bytes`;
  return null;
}

test(`dns fuzz: ${N.toLocaleString('en')} random and mutated packets in-process (seed ${SEED})`, t => {
  const { server } = makeServer(catalog);
  const r = prng(SEED);
  const seeds = corpus();
  let replies = 0; let silent = 0;
  v8.setFlagsFromString('--expose_gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const heapAt: number[] = [];
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = Date.now();
  for (let i = 0; i < N; i++) {
    if (i === N / 2 || i === N - 1) { gc(); heapAt.push(process.memoryUsage().heapUsed); }
    const req = mutate(r, seeds);
    const transport = i & 1 ? 'udp' : 'tcp';
    const rep = server.handle(req, transport);
    if (rep instanceof Promise) { t.fail('no recursors: nothing may go async'); return; }
    if (rep === null) { silent++; continue; }
    replies++;
    const bad = wellFormed(req, rep, transport);
    if (bad) { t.fail(`packet ${i} (${req.toString('hex')}): ${bad}`); return; }
  }
  const dt = (Date.now() - t0) / 1000;
  const heapMb = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
  t.log(`${N} packets in ${dt.toFixed(1)} s: ${replies} replies, ${silent} dropped; cache ${server.stats().entries} entries; heap +${heapMb.toFixed(0)} MiB`);
  t.true(replies > N / 4 && silent > 0);
  t.true(server.stats().entries <= 50_000, 'cache stays bounded');
  const growth = (heapAt[1]! - heapAt[0]!) / 2 ** 20;
  t.log(`heap after GC: ${(heapAt[0]! / 2 ** 20).toFixed(0)} MiB at half-way, ${(heapAt[1]! / 2 ** 20).toFixed(0)} MiB at the end`);
  t.true(growth < 64, `no leak: the second half grew the heap by ${growth.toFixed(0)} MiB`);
  // the server still answers normally
  const ok = server.handle(query('db.service.consul', 'A'), 'udp') as Buffer;
  t.is(dnsPacket.decode(ok).answers!.length, 2);
});

test('dns fuzz: 20,000 packets over UDP and 2,000 over TCP leave the server answering', async t => {
  const { server } = makeServer(catalog);
  const { udpPort, tcpPort } = await server.listen();
  const r = prng(SEED ^ 0x5eed);
  const seeds = corpus();
  const sock = dgram.createSocket('udp4');
  await new Promise<void>(res => sock.bind(0, '127.0.0.1', () => res()));
  let got = 0;
  sock.on('message', m => { got++; if (m.length < 12 || !(m[2]! & 0x80)) t.fail('bad UDP reply'); });
  for (let i = 0; i < 20_000; i++) {
    sock.send(mutate(r, seeds), udpPort, '127.0.0.1');
    if (i % 500 === 0) await new Promise(res => setImmediate(res));
  }
  // TCP: one connection carrying well-framed garbage, then a fresh one with a real query
  const c = net.connect(tcpPort, '127.0.0.1');
  await new Promise(res => c.once('connect', res));
  c.on('error', () => undefined);
  c.on('data', () => undefined);
  for (let i = 0; i < 2000; i++) {
    const m = mutate(r, seeds).subarray(0, 65535);
    if (m.length === 0) continue;
    const l = Buffer.alloc(2); l.writeUInt16BE(m.length);
    c.write(Buffer.concat([l, m]));
  }
  c.write(Buffer.from([0xff])); // half a length prefix, then hang up
  c.end();
  // The server keeps answering the fuzz: wait (no time window) until over 1,000 replies are back.
  await waitFor(() => got > 1000, 30_000, { what: () => `over 1,000 UDP replies (${got} so far)` });
  t.true(got > 1000, `UDP replies: ${got}`);
  const answer = await new Promise<Buffer>((resolve, reject) => {
    const s = net.connect(tcpPort, '127.0.0.1', () => { const q = query('db.service.consul', 'SRV'); const l = Buffer.alloc(2); l.writeUInt16BE(q.length); s.write(Buffer.concat([l, q])); });
    let buf = Buffer.alloc(0);
    s.on('data', d => { buf = Buffer.concat([buf, d]); if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { s.destroy(); resolve(buf.subarray(2)); } });
    s.on('error', reject);
  });
  t.is(dnsPacket.decode(answer).answers!.length, 2);
  sock.close();
  await server.close();
});
