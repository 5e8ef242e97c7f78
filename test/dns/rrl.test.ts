/**
 * Response-rate limiting (BIND/Knot RRL knobs) and the 4,096-byte UDP cap (issue 11 item 7):
 * token buckets per (client prefix, response class) on a fake clock; an EDNS 65,535 query for a
 * node with many meta pairs answered within 4,096 bytes.
 */
import test from 'ava';
import { ResponseRateLimiter, rateLimitOn, slipReply } from '../../src/dns/rrl.ts';
import { defaultDnsConfig } from '../../src/config/schema.ts';
import type { RateLimitConfig } from '../../src/config/schema.ts';
import { makeServer, ask, node, state, svc, query } from './helpers.ts';

const cfg = (p: Partial<RateLimitConfig> = {}): RateLimitConfig => ({ ...defaultDnsConfig().rateLimit, exemptLoopback: false, ...p });

async function reply(name: string, type = 'A'): Promise<Buffer> {
  const { server } = makeServer([state(node('web1', '10.0.0.1'))]);
  return (await server.handle(query(name, type), 'udp'))!;
}

function run(l: ResponseRateLimiter, addr: string, r: Buffer, n: number): Record<string, number> {
  const c: Record<string, number> = { send: 0, slip: 0, drop: 0 };
  for (let i = 0; i < n; i++) c[l.check(addr, r)]!++;
  return c;
}

test('rrl: a burst from one prefix gets `responses_per_second` answers, then every 2nd as TC=1 (slip 2), the rest dropped', async t => {
  const now = 100;
  const l = new ResponseRateLimiter(cfg({ responsesPerSecond: 10, slip: 2 }), () => now);
  t.deepEqual(run(l, '192.0.2.1', await reply('web1.node.consul'), 100), { send: 10, slip: 45, drop: 45 });
});

test('rrl: the bucket refills at the rate; debt is bounded by `window` seconds, so the prefix recovers after it', async t => {
  let now = 0;
  const l = new ResponseRateLimiter(cfg({ responsesPerSecond: 10, slip: 0, window: 5 }), () => now);
  const r = await reply('web1.node.consul');
  t.deepEqual(run(l, '192.0.2.1', r, 1000), { send: 10, slip: 0, drop: 990 }); // debt capped at -50
  now += 1;
  t.deepEqual(run(l, '192.0.2.1', r, 10), { send: 0, slip: 0, drop: 10 }); // still in debt
  now += 6; // 6 s of refill after the flood: 60 tokens cover the capped debt
  t.is(l.check('192.0.2.1', r), 'send');
});

test('rrl: clients are grouped by /24 and /56; other prefixes are not limited', async t => {
  const l = new ResponseRateLimiter(cfg({ responsesPerSecond: 5, slip: 0 }), () => 0);
  const r = await reply('web1.node.consul');
  run(l, '192.0.2.1', r, 5);
  t.is(l.check('192.0.2.200', r), 'drop');
  t.is(l.check('192.0.3.1', r), 'send');
  run(l, '2001:db8:0:ff00::1', r, 5);
  t.is(l.check('2001:db8:0:ffff::2', r), 'drop', 'same /56');
  t.is(l.check('2001:db8:0:100::1', r), 'send', 'another /56');
  t.is(l.check('::ffff:192.0.2.9', r), 'drop', 'IPv4-mapped counts as its IPv4 /24');
});

test('rrl: NXDOMAIN for random names shares one bucket per prefix; different positive answers do not', async t => {
  const l = new ResponseRateLimiter(cfg({ responsesPerSecond: 5, slip: 0 }), () => 0);
  for (let i = 0; i < 5; i++) t.is(l.check('198.51.100.1', await reply(`rnd${i}x.service.consul`)), 'send');
  t.is(l.check('198.51.100.1', await reply('other.service.consul')), 'drop');
  run(l, '198.51.100.1', await reply('web1.node.consul'), 5);
  t.is(l.check('198.51.100.1', await reply('web1.node.consul', 'TXT')), 'send', 'another qtype is another bucket');
});

test('rrl: loopback sources are exempt by default; the table is bounded', async t => {
  const r = await reply('web1.node.consul');
  const l = new ResponseRateLimiter({ ...defaultDnsConfig().rateLimit, responsesPerSecond: 1, tableSize: 64 }, () => 0);
  t.deepEqual(run(l, '127.0.0.1', r, 50), { send: 50, slip: 0, drop: 0 });
  for (let i = 0; i < 1000; i++) l.check(`10.${i >> 8}.${i & 255}.1`, r);
  t.true(l.size <= 64);
});

test('rrl: on by default only when listening on a non-loopback address; explicit settings win', t => {
  const d = defaultDnsConfig().rateLimit;
  t.false(rateLimitOn(d, '127.0.0.1'));
  t.false(rateLimitOn(d, '127.0.0.1 ::1'));
  t.true(rateLimitOn(d, '0.0.0.0'));
  t.true(rateLimitOn(d, '127.0.0.1 10.1.2.3'));
  t.true(rateLimitOn({ ...d, enabled: true }, '127.0.0.1'));
  t.false(rateLimitOn({ ...d, enabled: false }, '0.0.0.0'));
});

test('rrl: the slip reply is the header with TC=1 and the question, no records', async t => {
  const r = await reply('web1.node.consul');
  const s = slipReply(r);
  t.is(s.length, 12 + 'web1.node.consul'.length + 2 + 4);
  t.is(s[2]! & 0x02, 0x02);
  t.deepEqual([s.readUInt16BE(4), s.readUInt16BE(6), s.readUInt16BE(8), s.readUInt16BE(10)], [1, 0, 0, 0]);
  t.is(s.readUInt16BE(0), r.readUInt16BE(0));
});

test('udp cap: an EDNS 65,535 query for a node with 600 meta pairs is answered in at most 4,096 bytes (Consul: 65,398)', async t => {
  const meta: Record<string, string> = {};
  for (let i = 0; i < 600; i++) meta[`key${i}`] = 'v'.repeat(100);
  const { server } = makeServer([state(node('big', '10.0.0.9', { meta }))]);
  for (const type of ['TXT', 'ANY', 'A']) {
    const r = await ask(server, 'big.node.consul', type, { edns: 65535 });
    t.true(r.raw.length <= 4096, `${type}: ${r.raw.length} bytes`);
    t.is(r.rcode, 'NOERROR');
  }
  const tcp = await ask(server, 'big.node.consul', 'TXT', { edns: 65535, transport: 'tcp' });
  t.true(tcp.raw.length > 50_000, 'TCP still carries the whole answer');
});

test('udp cap: a one-instance SRV answer whose node meta fills the additional section stays within 4,096 bytes', async t => {
  const meta: Record<string, string> = {};
  for (let i = 0; i < 64; i++) meta[`key${i}`] = 'v'.repeat(100);
  const { server } = makeServer([state(node('big', '10.0.0.9', { meta }), [svc('web', { port: 80 })])], { dns: { ...defaultDnsConfig(), enableAdditionalNodeMetaTxt: true } });
  const r = await ask(server, 'web.service.consul', 'SRV', { edns: 65535 });
  t.true(r.raw.length <= 4096, `${r.raw.length} bytes`);
  t.is(r.rcode, 'NOERROR');
});
