/**
 * Bad and unusual packets: miekg/dns's acceptance rules (the layer Consul runs on), table-driven.
 */
import test from 'ava';
import dnsPacket from 'dns-packet';
import { parseRequest } from '../../src/dns/request.ts';
import { makeServer, node, state, svc, query } from './helpers.ts';

const q = query('foo.node.consul', 'A', { rd: true });
const hdr = (id: number, b2: number, b3: number, qd: number, an: number, ns: number, ar: number): Buffer => {
  const b = Buffer.alloc(12); b.writeUInt16BE(id, 0); b[2] = b2; b[3] = b3; b.writeUInt16BE(qd, 4); b.writeUInt16BE(an, 6); b.writeUInt16BE(ns, 8); b.writeUInt16BE(ar, 10); return b;
};
const name = Buffer.from([3, ...Buffer.from('foo'), 4, ...Buffer.from('node'), 6, ...Buffer.from('consul'), 0]);
const withCounts = (b: Buffer, an: number, ns: number, ar: number): Buffer => { const c = Buffer.from(b); c.writeUInt16BE(an, 6); c.writeUInt16BE(ns, 8); c.writeUInt16BE(ar, 10); return c; };

interface PCase { name: string; msg: Buffer; want: 'drop' | { rcode: number; qd: number; opcode?: number } | 'query' }
const cases: PCase[] = [
  { name: 'shorter than a header → silence', msg: Buffer.from([1, 2, 3]), want: 'drop' },
  { name: 'QR=1 (a response) → silence', msg: (() => { const b = Buffer.from(q); b[2]! |= 0x80; return b; })(), want: 'drop' },
  { name: 'opcode STATUS → NOTIMP, header only, opcode kept', msg: (() => { const b = Buffer.from(q); b[2] = (b[2]! & 0x87) | (2 << 3); return b; })(), want: { rcode: 4, qd: 0, opcode: 2 } },
  { name: 'opcode UPDATE → NOTIMP', msg: (() => { const b = Buffer.from(q); b[2] = (b[2]! & 0x87) | (5 << 3); return b; })(), want: { rcode: 4, qd: 0, opcode: 5 } },
  { name: 'QDCOUNT 0 → FORMERR, header only', msg: hdr(1, 0, 0, 0, 0, 0, 0), want: { rcode: 1, qd: 0 } },
  { name: 'QDCOUNT 2 → FORMERR', msg: (() => { const b = Buffer.from(q); b.writeUInt16BE(2, 4); return b; })(), want: { rcode: 1, qd: 0 } },
  { name: 'ANCOUNT 2 → FORMERR', msg: withCounts(q, 2, 0, 0), want: { rcode: 1, qd: 0 } },
  { name: 'NSCOUNT 2 → FORMERR', msg: withCounts(q, 0, 2, 0), want: { rcode: 1, qd: 0 } },
  { name: 'ARCOUNT 3 → FORMERR', msg: withCounts(q, 0, 0, 3), want: { rcode: 1, qd: 0 } },
  { name: 'header only with QDCOUNT 1 → accepted without a question (REFUSED)', msg: hdr(7, 1, 0, 1, 0, 0, 0), want: { rcode: 5, qd: 0 } },
  { name: 'truncated name → FORMERR without question', msg: Buffer.concat([hdr(1, 0, 0, 1, 0, 0, 0), name.subarray(0, 6)]), want: { rcode: 1, qd: 0 } },
  { name: 'label type 0x40 → FORMERR', msg: Buffer.concat([hdr(1, 0, 0, 1, 0, 0, 0), Buffer.from([0x41, 0, 0, 1, 0, 1])]), want: { rcode: 1, qd: 0 } },
  { name: 'name + 1 byte → FORMERR', msg: Buffer.concat([hdr(1, 0, 0, 1, 0, 0, 0), name, Buffer.from([0])]), want: { rcode: 1, qd: 0 } },
  { name: 'name only → accepted (qtype 0)', msg: Buffer.concat([hdr(1, 0, 0, 1, 0, 0, 0), name]), want: 'query' },
  { name: 'pointer loop in the question → FORMERR', msg: Buffer.concat([hdr(1, 0, 0, 1, 0, 0, 0), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), want: { rcode: 1, qd: 0 } },
  { name: 'name over 255 octets → FORMERR', msg: Buffer.concat([hdr(1, 0, 0, 1, 0, 0, 0), ...Array.from({ length: 5 }, () => Buffer.from([63, ...Buffer.alloc(63, 97)])), Buffer.from([0, 0, 1, 0, 1])]), want: { rcode: 1, qd: 0 } },
  { name: 'ARCOUNT 1 but no record → FORMERR with question', msg: withCounts(q, 0, 0, 1), want: { rcode: 1, qd: 1 } },
  { name: 'OPT with a truncated option → FORMERR with question',
    msg: Buffer.concat([withCounts(q, 0, 0, 1), Buffer.from([0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 3, 0, 8, 0])]), want: { rcode: 1, qd: 1 } },
  { name: 'ECS with a bad family → FORMERR with question',
    msg: Buffer.concat([withCounts(q, 0, 0, 1), Buffer.from([0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 8, 0, 8, 0, 4, 0, 9, 0, 0])]), want: { rcode: 1, qd: 1 } },
  { name: 'two OPT records are allowed (ARCOUNT 2)', msg: Buffer.concat([withCounts(q, 0, 0, 2), Buffer.from([0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0])]), want: 'query' },
  { name: 'trailing garbage after the message is ignored', msg: Buffer.concat([q, Buffer.from([1, 2, 3])]), want: 'query' },
];

for (const c of cases) {
  test(`dns request: ${c.name}`, t => {
    const p = parseRequest(c.msg);
    if (c.want === 'drop') { t.is(p.t, 'drop'); return; }
    if (c.want === 'query') { t.is(p.t, 'query'); return; }
    const buf = p.t === 'reply' ? p.buf : null;
    if (c.want.rcode === 5) { t.is(p.t, 'noquestion'); return; }
    t.truthy(buf);
    t.is(buf![3]! & 0xf, c.want.rcode);
    t.is(buf!.readUInt16BE(4), c.want.qd);
    t.is(buf!.readUInt16BE(0), c.msg.readUInt16BE(0), 'ID copied');
    t.true((buf![2]! & 0x80) !== 0, 'QR');
    t.is(buf!.readUInt16BE(6) + buf!.readUInt16BE(8) + buf!.readUInt16BE(10), 0, 'sections emptied');
    if (c.want.opcode !== undefined) t.is((buf![2]! >> 3) & 0xf, c.want.opcode);
    dnsPacket.decode(buf!);
  });
}

const { server } = makeServer([state(node('foo', '127.0.0.1'), [svc('db')])]);

test('dns request: header-only query gets REFUSED with no question through handle()', async t => {
  const r = await server.handle(hdr(7, 1, 0, 1, 0, 0, 0), 'udp');
  t.deepEqual([...r!], [0, 7, 0x81, 5, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test('dns request: compressed question name is answered and echoed uncompressed', async t => {
  // question name = pointer to a name placed... nowhere but itself: build "foo" + pointer to "node.consul" inside the same question
  const msg = Buffer.concat([hdr(9, 1, 0, 1, 0, 0, 0), Buffer.from([3, 102, 111, 111, 0xc0, 22]), Buffer.from([0, 1, 0, 1]), Buffer.from([4, ...Buffer.from('node'), 6, ...Buffer.from('consul'), 0])]);
  const raw = await server.handle(msg, 'udp');
  const d = dnsPacket.decode(raw!);
  t.is(d.questions![0]!.name, 'foo.node.consul');
  t.is(d.answers!.length, 1);
});

test('dns request: NOTIFY is answered with opcode NOTIFY echoed', async t => {
  const b = Buffer.from(query('foo.node.consul', 'SOA')); b[2] = (b[2]! & 0x87) | (4 << 3);
  const raw = await server.handle(b, 'udp');
  t.is((raw![2]! >> 3) & 0xf, 4);
  t.is(raw![3]! & 0xf, 0);
});
