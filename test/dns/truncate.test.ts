/**
 * Consul DNS conformance, §11 "Truncation/compression units": trimUDPResponse, trimTCPResponse,
 * dnsBinaryTruncate, syncExtra, and the end-to-end size guarantees.
 */
import test from 'ava';
import { trimUDP, trimTCP, syncExtra, binaryTruncate, udpMaxSize } from '../../src/dns/truncate.ts';
import { T, newMsg, msgLength, encodeMsg, rrA, rrName, parseIP } from '../../src/dns/wire.ts';
import type { Msg, RR } from '../../src/dns/wire.ts';
import { makeServer, ask, node, svc, state, has, TC } from './helpers.ts';

function srvMsg(n: number, withNs = false): Msg {
  const m = newMsg({ name: 'redis-cache-redis.service.consul.', type: T.SRV, cls: 1 });
  for (let i = 0; i < n; i++) {
    const target = `ip-10-0-1-${i}.node.dc1.consul.`;
    m.answer.push({ name: 'redis-cache-redis.service.consul.', type: T.SRV, ttl: 0, data: { k: 'srv', priority: 1, weight: 1, port: 8000 + i, target } });
    m.additional.push(rrA(target, 0, parseIP(`10.${i >> 8}.1.${i & 255}`)!));
  }
  if (withNs) for (let i = 0; i < n; i++) m.authority.push(rrName('consul.', T.NS, 0, `ns${i}.node.dc1.consul.`));
  return m;
}

test('dns truncate: TestDNS_trimUDPResponse_NoTrim', t => {
  const m = srvMsg(1);
  t.false(trimUDP(m, null, 3, true, 0));
  t.is(m.answer.length, 1); t.is(m.additional.length, 1);
});

test('dns truncate: TestDNS_trimUDPResponse_TrimLimit: udp_answer_limit with additional kept in step', t => {
  const m = srvMsg(8);
  t.true(trimUDP(m, null, 3, true, 0));
  t.is(m.answer.length, 3); t.is(m.additional.length, 3);
  for (let i = 0; i < 3; i++) t.is((m.answer[i]!.data as { target: string }).target, m.additional[i]!.name);
});

test('dns truncate: TestDNS_trimUDPResponse_TrimLimitWithNS: authority dropped first', t => {
  const m = srvMsg(8, true);
  t.true(trimUDP(m, null, 3, true, 0));
  t.true(m.answer.length <= 3);
  t.is(m.authority.length, 0);
  t.true(msgLength(m, true) <= 512);
});

test('dns truncate: TestDNS_trimTCPResponse_TrimLimitWithNS: ≤ 65523 bytes, authority dropped', t => {
  const m = srvMsg(5000, true);
  t.true(trimTCP(m, T.SRV, true, 0));
  t.true(msgLength(m, true) <= 65523);
  t.is(m.authority.length, 0);
  t.true(m.answer.length <= 1024);
  t.is(m.additional.length, m.answer.length);
});

test('dns truncate: TestDNS_trimUDPResponse_TrimSize: 512 bytes measured uncompressed', t => {
  const m = srvMsg(100);
  t.true(trimUDP(m, null, 8, true, 0));
  t.true(msgLength(m, false) <= 512 - 8 || m.answer.length === 1);
  t.true(m.answer.length < 8);
});

test('dns truncate: TestDNS_trimUDPResponse_TrimSizeEDNS: EDNS keeps more answers', t => {
  const a = srvMsg(100); const b = srvMsg(100);
  trimUDP(a, null, 8, true, 0);
  trimUDP(b, 1024, 8, true, 11);
  t.true(b.answer.length > a.answer.length);
  t.true(msgLength(b, true) + 11 <= 1024);
});

// Consul caps at 65,467; issue 11 caps UDP replies at 4,096 bytes whatever the client claims.
test('dns truncate: TestDNS_trimUDPResponse_TrimSizeMaxSize: cap at 4,096 (Roster; Consul: 65,467)', t => {
  t.is(udpMaxSize(65535), 4096);
  t.is(udpMaxSize(4000), 4000);
  const m = srvMsg(3000);
  trimUDP(m, 65535, 8, true, 11);
  t.true(msgLength(m, true) + 11 <= 4096);
});

test('dns truncate: TestDNS_BinarySearch: the result fits and one more does not', t => {
  const m = srvMsg(500);
  m.additional = [];
  const size = (): number => msgLength(m, true);
  for (const max of [512, 1024, 4096, 16000, 65000]) {
    const n = binaryTruncate(m, max, null, size);
    const keep = m.answer;
    m.answer = keep.slice(0, n); const fits = size();
    m.answer = keep.slice(0, n + 1); const over = size();
    m.answer = keep;
    t.true(fits <= max, `max ${max}`);
    t.true(over > max - 10 || n === keep.length, `max ${max}: ${n} answers, next ${over}`);
  }
});

test('dns truncate: TestDNS_syncExtra: one additional per remaining SRV target, CNAME chains followed, case-insensitive', t => {
  const m = newMsg(null);
  const srv = (target: string): RR => ({ name: 'db.service.consul.', type: T.SRV, ttl: 0, data: { k: 'srv', priority: 1, weight: 1, port: 1, target } });
  m.answer = [srv('ip-10-0-1-1.node.dc1.consul.'), srv('IP-10-0-1-2.node.dc1.consul.'), srv('alias.example.org.')];
  const extra = [rrA('ip-10-0-1-1.node.dc1.consul.', 0, parseIP('10.0.1.1')!), rrA('ip-10-0-1-2.node.dc1.consul.', 0, parseIP('10.0.1.2')!),
    rrA('ip-10-0-1-3.node.dc1.consul.', 0, parseIP('10.0.1.3')!), rrName('alias.example.org.', T.CNAME, 0, 'real.example.org.'), rrA('real.example.org.', 0, parseIP('192.0.2.1')!)];
  const idx = new Map(extra.map(r => [r.name.toLowerCase(), r]));
  syncExtra(idx, m);
  t.deepEqual(m.additional.map(r => r.name), ['ip-10-0-1-1.node.dc1.consul.', 'ip-10-0-1-2.node.dc1.consul.', 'alias.example.org.', 'real.example.org.']);
});

function many(n: number): ReturnType<typeof state>[] {
  return Array.from({ length: n }, (_, i) => state(node(`ip-10-0-${i >> 8}-${i & 255}`, `10.0.${i >> 8}.${i & 255}`, { meta: { k: 'v' } }), [svc('big', { port: 8000 + (i % 1000) })]));
}

test('dns truncate: TestDNS_TCP_and_UDP_Truncate: 5000 instances never exceed the limits', async t => {
  const { server } = makeServer(many(5000), { dns: { enableTruncate: true } });
  for (const type of ['A', 'SRV', 'ANY']) {
    for (const o of [{ transport: 'tcp' as const }, {}, { edns: 1232 }, { edns: 4096 }, { edns: 65535 }]) {
      const r = await ask(server, 'big.service.consul', type, o);
      const max = 'transport' in o ? 65535 : udpMaxSize('edns' in o ? o.edns ?? null : null);
      t.true(r.raw.length <= max, `${type} ${JSON.stringify(o)}: ${r.raw.length} > ${max}`);
      t.true(r.answers!.length >= 1);
      if ('edns' in o) t.true(r.additionals!.some(a => a.type === 'OPT'), 'OPT kept after trimming');
    }
  }
});

test('dns truncate: TestDNS_EDNS_Truncate_AgentSource: reply < EDNS 2048, OPT kept, TC set', async t => {
  const { server } = makeServer(many(200), { dns: { enableTruncate: true } });
  const r = await ask(server, 'big.service.consul', 'SRV', { edns: 2048 });
  t.true(r.raw.length <= 2048);
  t.true(has(r.flags, TC));
  const opt = r.additionals!.find(a => a.type === 'OPT') as { udpPayloadSize: number } | undefined;
  t.is(opt?.udpPayloadSize, 2048);
});

test('dns truncate: TestDNS_Compression_trimUDPResponse: compressed by default, uncompressed with disable_compression', async t => {
  const a = await ask(makeServer(many(3)).server, 'big.service.consul', 'SRV');
  const b = await ask(makeServer(many(3), { dns: { disableCompression: true } }).server, 'big.service.consul', 'SRV');
  t.is(a.answers!.length, b.answers!.length);
  t.true(a.raw.length < b.raw.length);
});

test('dns truncate: TestDNS_Compression_Query: answers point at the question', async t => {
  const r = await ask(makeServer(many(1)).server, 'big.service.consul', 'A');
  t.is(r.raw.readUInt16BE(12 + 24), 0xc00c);
});

test('dns truncate: TestDNS_Compression_Recurse: the encoder restores nothing it should not (flag per message)', t => {
  const m = srvMsg(3);
  const c = encodeMsg(m, true).buf.length; const u = encodeMsg(m, false).buf.length;
  t.true(c < u);
  t.is(msgLength(m, false), u);
  t.is(encodeMsg(m, true).buf.length, c);
});
