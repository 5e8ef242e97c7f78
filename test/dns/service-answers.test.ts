/**
 * Service answers from per-instance records (src/dns/service-answers.ts): a check flip re-encodes
 * only the instance it touched, trimmed answers rotate through every instance without
 * re-encoding anything or rebuilding the cache entry, and large TCP replies are not copied.
 */
import test from 'ava';
import dnsPacket from 'dns-packet';
import { instanceEncodings } from '../../src/dns/instance-records.ts';
import { DnsHandler } from '../../src/dns/handler.ts';
import { runtimeFrom } from '../../src/dns/runtime.ts';
import { makeServer, node, svc, state, check, ask, query, config } from './helpers.ts';

function big(n: number): ReturnType<typeof state>[] {
  return Array.from({ length: n }, (_, i) => state(node(`n${i}`, `10.0.${i >> 8}.${i & 255}`, { meta: { rack: 'r1' } }), [svc('big', { id: `big${i}`, port: 9000 + i })],
    [check(`n${i}`, `c${i}`, 'passing', `big${i}`, 'big')]));
}

test.serial('service answers: a check flip re-encodes only the instance it touched', async t => {
  const { server, view } = makeServer(big(300));
  const kinds = [['SRV', { transport: 'tcp' as const }], ['SRV', {}], ['A', { edns: 4096 }]] as const;
  for (const [type, o] of kinds) await ask(server, 'big.service.consul', type, o);
  const before = instanceEncodings();
  view.patchNode('n7', new Map(), new Map([['c7', check('n7', 'c7', 'critical', 'big7', 'big')]]), 2);
  for (const [type, o] of kinds) {
    const r = await ask(server, 'big.service.consul', type, o);
    t.false(r.answers!.some(a => { const d = (a as { data?: unknown }).data; return a.type === 'SRV' ? (d as { port: number }).port === 9007 : d === '10.0.0.7'; }), `${type}: the critical instance is gone`);
  }
  t.is(instanceEncodings() - before, 0, 'a critical instance is filtered out: nothing to encode');
  view.patchNode('n7', new Map(), new Map([['c7', check('n7', 'c7', 'warning', 'big7', 'big')]]), 3);
  const tcp = await ask(server, 'big.service.consul', 'SRV', { transport: 'tcp' });
  t.true(tcp.answers!.some(a => a.type === 'SRV' && ((a as { data?: unknown }).data as { port: number }).port === 9007), 'back, as a warning instance');
  await ask(server, 'big.service.consul', 'SRV');
  await ask(server, 'big.service.consul', 'A', { edns: 4096 });
  t.is(instanceEncodings() - before, 2, 'one encoding for the SRV shape and one for the A shape of the touched instance');
});

test.serial('service answers: a trimmed answer rotates through every instance with no rebuild and no re-encoding', t => {
  const { server } = makeServer(big(1000));
  const q = query('big.service.consul', 'SRV');
  server.handle(q, 'udp');
  const misses = server.stats().misses; const enc = instanceEncodings();
  const seen = new Set<number>();
  for (let i = 0; i < 200_000 && seen.size < 1000; i++) {
    const r = dnsPacket.decode(server.handle(q, 'udp') as Buffer);
    t.is(r.answers!.length, 3);
    for (const a of r.answers!) seen.add(((a as { data?: unknown }).data as { port: number }).port);
  }
  t.is(seen.size, 1000, 'every instance had its turn');
  t.is(server.stats().misses, misses, 'the entry was never rebuilt');
  t.is(instanceEncodings(), enc, 'nothing was re-encoded');
});

test('service answers: over TCP a large cached reply comes as chunks whose bytes equal the copied reply', t => {
  const { view } = makeServer(big(1000));
  const h = new DnsHandler(view, runtimeFrom(config()), null);
  for (const o of [{ transport: 'tcp' as const }, { transport: 'tcp' as const, edns: 1232, id: 77 }]) {
    const q = query('Big.Service.consul', 'SRV', o);
    const first = h.handle(q, 'tcp') as Buffer; // variant 0
    h.handle(q, 'tcp'); // variant 1
    const chunks = h.handleChunks(q, 'tcp'); // variant 0 again
    t.true(Array.isArray(chunks), 'a 64 KiB reply is not copied');
    t.is(Buffer.concat(chunks as Buffer[]).toString('hex'), first.toString('hex'));
    h.handleChunks(q, 'tcp');
  }
  const small = h.handleChunks(query('n1.node.consul', 'A', { transport: 'tcp' }), 'tcp');
  t.true(Buffer.isBuffer(small), 'small replies stay one buffer');
});

test.serial('service answers: questions of other types encode nothing per instance (random qtypes cannot grow the per-instance cache)', async t => {
  const { server } = makeServer(big(50));
  const enc = instanceEncodings();
  for (const type of ['MX', 'CNAME', 'HINFO', 'CAA']) {
    const r = await ask(server, 'big.service.consul', type);
    t.is(r.rcode, 'NOERROR'); t.is(r.answers!.length, 0, `${type}: NODATA`);
  }
  t.is(instanceEncodings(), enc);
});

test('service answers: an SRV answer over TCP that shows at least 90 % of the instances has every instance across its two variants, and is re-ordered 8× less often than a trimmed UDP one', t => {
  // Node names long enough that 1,000 SRV answers with their additional records no longer fit in 64 KiB.
  const long = Array.from({ length: 1000 }, (_, i) => state(node(`node-x-${i}`, `10.0.${i >> 8}.${i & 255}`), [svc('big', { id: `big${i}`, port: 9000 + i })],
    [check(`node-x-${i}`, `c${i}`, 'passing', `big${i}`, 'big')]));
  const { view } = makeServer(long);
  const h = new DnsHandler(view, runtimeFrom(config()), null);
  const q = query('big.service.consul', 'SRV', { transport: 'tcp' });
  const bodies = new Set<string>();
  const ports = new Set<number>();
  const take = () => {
    const r = Buffer.concat(h.handleChunks(q, 'tcp') as Buffer[]);
    const k = r.subarray(2).toString('latin1'); // the ID differs per query
    if (!bodies.has(k)) { bodies.add(k); for (const a of dnsPacket.decode(r).answers!) if (a.type === 'SRV') ports.add((a.data as { port: number }).port); }
  };
  const answers = dnsPacket.decode(Buffer.concat(h.handleChunks(q, 'tcp') as Buffer[])).answers!.filter(a => a.type === 'SRV').length;
  t.true(answers >= 900 && answers < 1000, `a trimmed answer with most instances (${answers})`);
  for (let i = 0; i < 2 * 256 * 8 - 10; i++) take();
  t.is(bodies.size, 2, 'the same two variants until 2 × 256 × 8 uses');
  t.is(ports.size, 1000, 'every instance is in one of them');
  for (let i = 0; i < 40; i++) take();
  t.true(bodies.size > 2, 'then a new order');
});
