/**
 * Consul DNS conformance, §11 "Recursion/config" (agent/dns_test.go) and the recursor-dependent
 * service/node cases, against a tiny upstream responder on 127.0.0.1.
 */
import test from 'ava';
import dnsPacket from 'dns-packet';
import { makeServer, ask, rrs, node, svc, state, config, has, AA, RA, TC, query } from './helpers.ts';
import { upstream } from './upstream.ts';
import { mock } from 'node:test';

const A = (name: string, ip: string, ttl = 60): dnsPacket.Answer => ({ name, type: 'A', class: 'IN', ttl, data: ip });

test('dns recursor: TestDNS_Recurse: out-of-zone forwarded, reply relayed unchanged, RA set', async t => {
  const up = await upstream(q => ({ type: 'response', flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED, answers: [A(q.questions![0]!.name, '192.0.2.7')] }));
  const { server } = makeServer([], { recursors: [up.addr] });
  const r = await ask(server, 'apple.com', 'ANY', { id: 99 });
  t.is(r.id, 99);
  t.deepEqual(rrs(r.answers), ['apple.com 60 A 192.0.2.7']);
  t.true(has(r.flags, RA));
  t.false(has(r.flags, AA));
  t.is(up.queries.length, 1);
  await up.close();
});

test('dns recursor: TestDNS_Recurse over TCP uses TCP upstream', async t => {
  const seen: string[] = [];
  const up = await upstream((q, tr) => { seen.push(tr); return { type: 'response', answers: [A(q.questions![0]!.name, '192.0.2.8')] }; });
  const { server } = makeServer([], { recursors: [up.addr] });
  const r = await ask(server, 'apple.com', 'A', { transport: 'tcp' });
  t.deepEqual(rrs(r.answers), ['apple.com 60 A 192.0.2.8']);
  t.deepEqual(seen, ['tcp']);
  await up.close();
});

test('dns recursor: TestDNS_Recurse_Truncation: upstream TC relayed', async t => {
  const up = await upstream(() => ({ type: 'response', flags: dnsPacket.TRUNCATED_RESPONSE, answers: [] }));
  const { server } = makeServer([], { recursors: [up.addr] });
  const r = await ask(server, 'apple.com', 'ANY');
  t.true(has(r.flags, TC));
  t.is(r.rcode, 'NOERROR');
  await up.close();
});

test.serial('dns recursor: TestDNS_RecursorTimeout: silent upstream → SERVFAIL after recursor_timeout', async t => {
  const up = await upstream(() => null);
  const { server } = makeServer([], { recursors: [up.addr], dns: { recursorTimeoutMs: 200 } });
  // A fake clock (node:test mock timers) times the deadline exactly; the sockets stay real.
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  t.teardown(() => mock.timers.reset());
  const t0 = Date.now();
  let settled = false;
  const pending = ask(server, 'apple.com', 'A', { edns: 1232 }).finally(() => { settled = true; });
  for (let ms = 0; ms < 2000 && !settled; ms++) {
    await new Promise(r => setImmediate(r)); // let real I/O (the query to the upstream) happen
    if (ms === 199) t.false(settled, 'not before recursor_timeout');
    mock.timers.tick(1);
  }
  const r = await pending;
  const dt = Date.now() - t0;
  t.true(dt >= 200 && dt <= 205, `SERVFAIL at recursor_timeout (the timer starts once the upstream socket is open): ${dt} ms`);
  t.is(r.rcode, 'SERVFAIL');
  t.true(has(r.flags, RA)); t.false(has(r.flags, AA));
  t.true(r.additionals!.some(a => a.type === 'OPT'), 'OPT echoed');
  t.true(dt >= 190 && dt < 2000, `${dt} ms`);
  await up.close();
});

test('dns recursor: TestDNS_CycleRecursorCheck: SERVFAIL from the first → the second answers', async t => {
  const bad = await upstream(() => ({ type: 'response', flags: 2 }));
  const good = await upstream(q => ({ type: 'response', answers: [A(q.questions![0]!.name, '192.0.2.9')] }));
  const { server } = makeServer([], { recursors: [bad.addr, good.addr] });
  const r = await ask(server, 'www.google.com', 'A');
  t.deepEqual(rrs(r.answers), ['www.google.com 60 A 192.0.2.9']);
  t.is(bad.queries.length, 1);
  await bad.close(); await good.close();
});

test('dns recursor: TestDNS_CycleRecursorCheckAllFail: every upstream REFUSED → SERVFAIL', async t => {
  const ups = await Promise.all([0, 1, 2].map(() => upstream(() => ({ type: 'response', flags: 5 }))));
  const { server } = makeServer([], { recursors: ups.map(u => u.addr) });
  const r = await ask(server, 'www.google.com', 'A');
  t.is(r.rcode, 'SERVFAIL');
  t.deepEqual(ups.map(u => u.queries.length), [1, 1, 1]);
  for (const u of ups) await u.close();
});

test('dns recursor: recursor_strategy=random tries upstreams in varying order', async t => {
  const hits: number[] = [];
  const ups = await Promise.all([0, 1, 2].map(i => upstream(q => { hits.push(i); return { type: 'response', answers: [A(q.questions![0]!.name, '192.0.2.1')] }; })));
  const { server } = makeServer([], { recursors: ups.map(u => u.addr), dns: { recursorStrategy: 'random' } });
  for (let i = 0; i < 30; i++) await ask(server, `n${i}.example.org`, 'A');
  t.true(new Set(hits).size >= 2);
  for (const u of ups) await u.close();
});

test('dns recursor: without recursors out-of-zone → REFUSED (never an open resolver)', async t => {
  const { server } = makeServer([]);
  const r = await ask(server, 'example.org', 'A');
  t.is(r.rcode, 'REFUSED'); t.false(has(r.flags, RA));
});

test('dns recursor: PTR miss with recursors is forwarded', async t => {
  const up = await upstream(q => ({ type: 'response', answers: [{ name: q.questions![0]!.name, type: 'PTR', class: 'IN', ttl: 5, data: 'host.example.org' }] }));
  const { server } = makeServer([], { recursors: [up.addr] });
  const r = await ask(server, '9.2.0.192.in-addr.arpa', 'PTR');
  t.deepEqual(rrs(r.answers), ['9.2.0.192.in-addr.arpa 5 PTR host.example.org']);
  await up.close();
});

test('dns recursor: TestDNS_ServiceLookup_ServiceAddress_SRV: hostname target + upstream CNAME/A in additional', async t => {
  const up = await upstream(q => ({ type: 'response', answers: [{ name: q.questions![0]!.name, type: 'CNAME', class: 'IN', ttl: 60, data: 'www.l.google.com' }, A('www.l.google.com', '192.0.2.10')] }));
  const { server } = makeServer([state(node('foo', '127.0.0.1'), [svc('db', { address: 'www.google.com', port: 12345 })])], { recursors: [up.addr], dns: { serviceTtlMs: { db: 3000 } } });
  const r = await ask(server, 'db.service.consul', 'SRV');
  t.deepEqual(rrs(r.answers), ['db.service.consul 3 SRV 1 1 12345 www.google.com']);
  t.deepEqual(rrs(r.additionals), ['www.google.com 3 CNAME www.l.google.com', 'www.l.google.com 3 A 192.0.2.10']);
  const q = await ask(server, '_db._tcp.service.consul', 'SRV');
  t.is(q.answers!.length, 1);
  await up.close();
});

test('dns recursor: TestDNS_ServiceLookup_CNAME / _ServiceAddress_CNAME: ANY → [CNAME, upstream CNAME, A]', async t => {
  const up = await upstream(q => ({ type: 'response', answers: [{ name: q.questions![0]!.name, type: 'CNAME', class: 'IN', ttl: 60, data: 'www.l.google.com' }, A('www.l.google.com', '192.0.2.11')] }));
  const { server } = makeServer([state(node('google', 'www.google.com'), [svc('search', { port: 80 })])], { recursors: [up.addr] });
  const r = await ask(server, 'search.service.consul', 'ANY');
  t.deepEqual(rrs(r.answers), ['search.service.consul 0 CNAME www.google.com', 'www.google.com 0 CNAME www.l.google.com', 'www.l.google.com 0 A 192.0.2.11']);
  await up.close();
});

test('dns recursor: TestDNS_NodeLookup_CNAME: hostname node → CNAME + upstream records as-is', async t => {
  const up = await upstream(q => ({ type: 'response', answers: [{ name: q.questions![0]!.name, type: 'CNAME', class: 'IN', ttl: 60, data: 'www.l.google.com' }, A('www.l.google.com', '192.0.2.12', 30)] }));
  const { server } = makeServer([state(node('google', 'www.google.com'))], { recursors: [up.addr] });
  const r = await ask(server, 'google.node.consul', 'ANY');
  t.deepEqual(rrs(r.answers), ['google.node.consul 0 CNAME www.google.com', 'www.google.com 60 CNAME www.l.google.com', 'www.l.google.com 30 A 192.0.2.12']);
  await up.close();
});

test('dns recursor: TestDNS_InifiniteRecursion: self-referencing CNAMEs terminate', async t => {
  const { server } = makeServer([state(node('web', 'web.service.consul'), [svc('web', { port: 80 })])]);
  const r = await ask(server, 'web.service.consul', 'A');
  t.is(r.rcode, 'NOERROR');
  t.true(r.answers!.length >= 1 && r.answers!.length <= 4);
  t.is(r.answers![0]!.type, 'CNAME');
});

test('dns recursor: TestDNS_V1ConfigReload: recursors, TTLs and limits change live', async t => {
  const up = await upstream(q => ({ type: 'response', answers: [A(q.questions![0]!.name, '192.0.2.13')] }));
  const cat = Array.from({ length: 6 }, (_, i) => state(node(`n${i}`, `127.0.0.${i + 1}`), [svc('web')]));
  const { server } = makeServer(cat);
  t.is((await ask(server, 'example.org', 'A')).rcode, 'REFUSED');
  t.is((await ask(server, 'web.service.consul', 'A')).answers!.length, 3);
  server.reload(config({ recursors: [up.addr], dns: { udpAnswerLimit: 5, serviceTtlMs: { '*': 9000 }, nodeTtlMs: 4000 } }));
  t.deepEqual(rrs((await ask(server, 'example.org', 'A')).answers), ['example.org 60 A 192.0.2.13']);
  const w = await ask(server, 'web.service.consul', 'A');
  t.is(w.answers!.length, 5); t.is((w.answers![0] as { ttl: number }).ttl, 9);
  t.true(has(w.flags, RA));
  server.reload(config({}));
  t.is((await ask(server, 'example.org', 'A')).rcode, 'REFUSED');
  await up.close();
});

test('dns recursor: TestDNS_ReloadConfig_DuringQuery: a reload while a forward is in flight', async t => {
  let release!: () => void;
  const gate = new Promise<void>(r => { release = r; });
  const up = await upstream(q => ({ type: 'response', answers: [A(q.questions![0]!.name, '192.0.2.14')] }));
  const { server } = makeServer([], { recursors: [up.addr] });
  const pending = server.handle(query('example.org', 'A'), 'udp');
  server.reload(config({ recursors: [] }));
  release(); await gate;
  const raw = await pending;
  t.truthy(raw);
  t.is(dnsPacket.decode(raw!).answers!.length, 1);
  t.is((await ask(server, 'example.org', 'A')).rcode, 'REFUSED');
  await up.close();
});

test('dns recursor: DS goes to the parent side (recursors) even inside the domain', async t => {
  const up = await upstream(() => ({ type: 'response', answers: [] }));
  const { server } = makeServer([], { recursors: [up.addr] });
  await ask(server, 'consul', 'DS');
  t.is(up.queries.length, 1);
  await up.close();
});
