/**
 * Consul DNS conformance, §11 "Service" (agent/dns_service_lookup_test.go). Recursor-dependent
 * service cases (_ServiceAddress_SRV, _CNAME, _ServiceAddress_CNAME) are in recursor.test.ts.
 */
import test from 'ava';
import { runCases, node, svc, state, check, SOA, makeServer, ask, rrs, has, TC } from './helpers.ts';
import type { Case } from './helpers.ts';

const base = [
  state(node('foo', '127.0.0.1', { meta: { key: 'value' } }), [svc('db', { tags: ['primary'], port: 12345 })]),
  state(node('bar', '127.0.0.2'), [svc('db', { tags: ['secondary', 'v1.primary'], port: 12346 })]),
];
const one = [state(node('foo', '127.0.0.1'), [svc('db', { tags: ['primary'], port: 12345 })])];

const cases: Case[] = [
  { name: 'TestDNS_ServiceLookup: SRV priority 1 weight 1, node target, A additional', catalog: one, q: ['db.service.consul', 'SRV'], rcode: 'NOERROR',
    answer: ['db.service.consul 0 SRV 1 1 12345 foo.node.dc1.consul'], additional: ['foo.node.dc1.consul 0 A 127.0.0.1'] },
  { name: 'TestDNS_ServiceLookup: unknown service → NXDOMAIN + SOA', q: ['nodb.service.consul', 'SRV'], rcode: 'NXDOMAIN', authority: [SOA()] },
  ...['_db._primary.service.dc1.consul', '_db._primary.service.consul', '_db._primary.dc1.consul', '_db._primary.consul'].map((n): Case => ({
    name: `TestDNS_ServiceLookup_SRV_RFC: ${n}`, q: [n, 'SRV'], answer: [`${n} 0 SRV 1 1 12345 foo.node.dc1.consul`] })),
  ...['_db._tcp.service.dc1.consul', '_db._tcp.service.consul', '_db._tcp.dc1.consul', '_db._tcp.consul'].map((n): Case => ({
    name: `TestDNS_ServiceLookup_SRV_RFC_TCP_Default: ${n} (no tag filter)`, q: [n, 'SRV'],
    answer: [`${n} 0 SRV 1 1 12345 foo.node.dc1.consul`, `${n} 0 SRV 1 1 12346 bar.node.dc1.consul`] })),
  { name: 'TestDNS_ServiceLookup_SRV_RFC: _udp is a tag filter', q: ['_db._udp.service.consul', 'SRV'], rcode: 'NXDOMAIN' },
  { name: 'TestDNS_ServiceAddressWithTagLookup: tag.name form, addr target',
    catalog: [state(node('foo', '127.0.0.1'), [svc('db', { id: 'db1', tags: ['primary'], address: '127.0.0.2', port: 12345 }), svc('db', { id: 'db2', tags: ['secondary'], address: '127.0.0.3', port: 12346 })])],
    q: ['primary.db.service.consul', 'SRV'], answer: ['primary.db.service.consul 0 SRV 1 1 12345 7f000002.addr.dc1.consul'], additional: ['7f000002.addr.dc1.consul 0 A 127.0.0.2'] },
  { name: 'TestDNS_ServiceAddressWithTagLookup: RFC 2782 form', catalog: [state(node('foo', '127.0.0.1'), [svc('db', { tags: ['primary'], address: '127.0.0.2', port: 12345 })])],
    q: ['_db._primary.service.consul', 'SRV'], answer: ['_db._primary.service.consul 0 SRV 1 1 12345 7f000002.addr.dc1.consul'] },
  { name: 'TestDNS_ServiceAddressWithTagLookup: 3-part RFC name → NXDOMAIN', q: ['x._db._primary.service.consul', 'SRV'], rcode: 'NXDOMAIN' },
  { name: 'TestDNS_ServiceLookup_TagPeriod: dotted tag', q: ['v1.primary.db.service.consul', 'SRV'], answer: ['v1.primary.db.service.consul 0 SRV 1 1 12346 bar.node.dc1.consul'] },
  { name: 'TestDNS_ServiceLookup_TagPeriod: RFC form with dotted tag label does not match', q: ['_db._v1.service.consul', 'SRV'], rcode: 'NXDOMAIN' },
  { name: 'TestDNS_ServiceLookup_ExtraTags: an extra label → NXDOMAIN', q: ['nope.primary.db.service.consul', 'SRV'], rcode: 'NXDOMAIN', authority: [SOA()] },
  { name: 'TestDNS_ServiceLookup_CaseInsensitive: service and tag', catalog: [state(node('foo', '127.0.0.1'), [svc('Db', { tags: ['Primary'], port: 12345 })])],
    q: ['pRiMaRy.dB.SeRvIcE.CoNsUl', 'SRV'], answer: ['pRiMaRy.dB.SeRvIcE.CoNsUl 0 SRV 1 1 12345 foo.node.dc1.consul'] },
  { name: 'TestDNS_ServiceLookup_PreparedQueryNamePeriod: no prepared queries → NXDOMAIN + SOA', q: ['some.query.we.like.query.consul', 'SRV'], rcode: 'NXDOMAIN', authority: [SOA()] },
  { name: 'TestDNS_ServiceLookup_ServiceAddress_A: SRV → addr target', catalog: [state(node('foo', '127.0.0.1'), [svc('db', { address: '127.0.0.5', port: 12345 })])],
    q: ['db.service.consul', 'SRV'], answer: ['db.service.consul 0 SRV 1 1 12345 7f000005.addr.dc1.consul'], additional: ['7f000005.addr.dc1.consul 0 A 127.0.0.5'] },
  { name: 'TestDNS_ServiceLookup_ServiceAddress_A: A → service address', catalog: [state(node('foo', '127.0.0.1'), [svc('db', { address: '127.0.0.5', port: 12345 })])],
    q: ['db.service.consul', 'A'], answer: ['db.service.consul 0 A 127.0.0.5'] },
  { name: 'TestDNS_ServiceLookup_ServiceAddressIPV6: 32-hex target + AAAA', catalog: [state(node('foo', '127.0.0.1'), [svc('db', { address: '2607:20:4005:808::200e', port: 12345 })])],
    q: ['db.service.consul', 'SRV'], answer: ['db.service.consul 0 SRV 1 1 12345 2607002040050808000000000000200e.addr.dc1.consul'],
    additional: ['2607002040050808000000000000200e.addr.dc1.consul 0 AAAA 2607:20:4005:808::200e'] },
  { name: 'TestDNS_ServiceLookupWithInternalServiceAddress: self-referencing address → node target',
    catalog: [state(node('my.test-node', '10.1.2.3'), [svc('db', { address: 'db.service.consul', port: 12345 })])],
    q: ['db.service.consul', 'SRV'], answer: ['db.service.consul 0 SRV 1 1 12345 my.test-node.node.dc1.consul'], additional: ['my.test-node.node.dc1.consul 0 A 10.1.2.3'] },
  { name: 'TestDNS_ConnectServiceLookup: no mesh endpoints in Roster → NXDOMAIN + SOA', q: ['db.connect.consul', 'SRV'], rcode: 'NXDOMAIN', authority: [SOA()] },
  { name: 'TestDNS_IngressServiceLookup: no ingress gateways → NXDOMAIN + SOA', q: ['db.ingress.consul', 'A'], rcode: 'NXDOMAIN', authority: [SOA()] },
  { name: 'TestDNS_ExternalServiceLookup: hostname node → SRV target host, no additional',
    catalog: [state(node('foo', 'www.google.com'), [svc('db', { port: 12345 })])], q: ['db.service.consul', 'SRV'],
    answer: ['db.service.consul 0 SRV 1 1 12345 www.google.com'], additional: [] },
  { name: 'TestDNS_ExternalServiceToConsulCNAMELookup: in-zone CNAME resolved internally',
    catalog: [state(node('alias', 'web.service.consul'), [svc('alias', { port: 12345 })]), state(node('web', '127.0.0.1'), [svc('web', { port: 12345 })])],
    q: ['alias.service.consul', 'A'], answer: ['alias.service.consul 0 CNAME web.service.consul', 'web.service.consul 0 A 127.0.0.1'] },
  { name: 'TestDNS_ExternalServiceToConsulCNAMELookup: SRV → hostname target, chain in additional',
    catalog: [state(node('alias', 'web.service.consul'), [svc('alias', { port: 12345 })]), state(node('web', '127.0.0.1'), [svc('web', { port: 12345 })])],
    q: ['alias.service.consul', 'SRV'], answer: ['alias.service.consul 0 SRV 1 1 12345 web.service.consul'], additional: ['web.service.consul 0 A 127.0.0.1'] },
  { name: 'TestDNS_ExternalServiceToConsulCNAMENestedLookup: two hops',
    catalog: [state(node('alias2', 'alias.service.consul'), [svc('alias2', { port: 1 })]), state(node('alias', 'web.service.consul'), [svc('alias', { port: 1 })]),
      state(node('web', '127.0.0.1'), [svc('web', { port: 1 })])],
    q: ['alias2.service.consul', 'A'], answer: ['alias2.service.consul 0 CNAME alias.service.consul', 'alias.service.consul 0 CNAME web.service.consul', 'web.service.consul 0 A 127.0.0.1'] },
  { name: 'TestDNS_ServiceLookupNoMultiCNAME: only the first hostname instance',
    catalog: [state(node('foo', '127.0.0.1'), [svc('db', { id: 'db1', address: 'foo.node.consul' }), svc('db', { id: 'db2', address: 'bar.node.consul' })])],
    q: ['db.service.consul', 'A'], check: (t, r) => { t.is(r.answers!.filter(a => a.type === 'CNAME').length, 1); } },
  { name: 'TestDNS_ServiceLookupPreferNoCNAME: an IP instance wins over a hostname one',
    catalog: [state(node('foo', '127.0.0.1'), [svc('db', { id: 'db1', address: '127.0.0.2' }), svc('db', { id: 'db2', address: 'www.google.com' })])],
    q: ['db.service.consul', 'A'], answer: ['db.service.consul 0 A 127.0.0.2'] },
  { name: 'TestDNS_ServiceLookupMultiAddrNoCNAME: several IPs, no CNAME',
    catalog: [state(node('foo', '127.0.0.1'), [svc('db', { id: 'db1', address: '127.0.0.2' }), svc('db', { id: 'db2', address: 'www.google.com' }), svc('db', { id: 'db3', address: '127.0.0.3' })])],
    q: ['db.service.consul', 'A'], answer: ['db.service.consul 0 A 127.0.0.2', 'db.service.consul 0 A 127.0.0.3'] },
  { name: 'TestDNS_ServiceLookup_Dedup: same IP once',
    catalog: [state(node('foo', '127.0.0.1'), [svc('db', { id: 'db1', port: 1 }), svc('db', { id: 'db2', port: 1 }), svc('db', { id: 'db3', port: 2 })])],
    q: ['db.service.consul', 'ANY'], answer: ['db.service.consul 0 A 127.0.0.1'] },
  { name: 'TestDNS_ServiceLookup_Dedup_SRV: same node, distinct ports',
    catalog: [state(node('foo', '127.0.0.1'), [svc('db', { id: 'db1', port: 12345 }), svc('db', { id: 'db2', port: 12345 }), svc('db', { id: 'db3', port: 12346 })])],
    q: ['db.service.consul', 'SRV'], answer: ['db.service.consul 0 SRV 1 1 12345 foo.node.dc1.consul', 'db.service.consul 0 SRV 1 1 12346 foo.node.dc1.consul'],
    additional: ['foo.node.dc1.consul 0 A 127.0.0.1'] },
  { name: 'TestDNS_ServiceLookup_FilterCritical: critical node or service check excluded, warning kept',
    catalog: [
      state(node('a', '127.0.0.1'), [svc('db')], [check('a', 'serfHealth', 'critical')]),
      state(node('b', '127.0.0.2'), [svc('db')], [check('b', 'svc', 'critical', 'db', 'db')]),
      state(node('c', '127.0.0.3'), [svc('db')], [check('c', 'svc', 'warning', 'db', 'db')]),
      state(node('d', '127.0.0.4'), [svc('db')], [check('d', 'svc', 'passing', 'db', 'db')]),
    ], q: ['db.service.consul', 'A'], answer: ['db.service.consul 0 A 127.0.0.3', 'db.service.consul 0 A 127.0.0.4'] },
  { name: 'TestDNS_ServiceLookup_OnlyFailing: all critical → NXDOMAIN + SOA',
    catalog: [state(node('a', '127.0.0.1'), [svc('db')], [check('a', 'serfHealth', 'critical')])], q: ['db.service.consul', 'A'], rcode: 'NXDOMAIN', authority: [SOA()] },
  { name: 'TestDNS_ServiceLookup_OnlyFailing: maintenance (critical _node_maintenance) → NXDOMAIN',
    catalog: [state(node('a', '127.0.0.1'), [svc('db')], [check('a', '_node_maintenance', 'critical')])], q: ['db.service.consul', 'SRV'], rcode: 'NXDOMAIN' },
  { name: 'TestDNS_ServiceLookup_MetaTXT: SRV additional TXT on', catalog: [state(node('foo', '127.0.0.1', { meta: { key: 'value' } }), [svc('db', { port: 1 })])],
    q: ['db.service.consul', 'SRV'], additional: ['foo.node.dc1.consul 0 A 127.0.0.1', 'foo.node.dc1.consul 0 TXT key=value'] },
  { name: 'TestDNS_ServiceLookup_SuppressTXT: SRV additional TXT off', config: { dns: { enableAdditionalNodeMetaTxt: false } },
    catalog: [state(node('foo', '127.0.0.1', { meta: { key: 'value' } }), [svc('db', { port: 1 })])], q: ['db.service.consul', 'SRV'], additional: ['foo.node.dc1.consul 0 A 127.0.0.1'] },
  { name: 'SRV weight = Weights.Passing for passing instances',
    catalog: [state(node('foo', '127.0.0.1'), [svc('db', { port: 1, weights: { Passing: 10, Warning: 2 } })], [check('foo', 'c', 'passing', 'db', 'db')])],
    q: ['db.service.consul', 'SRV'], answer: ['db.service.consul 0 SRV 1 10 1 foo.node.dc1.consul'] },
  { name: 'SRV weight = Weights.Warning for warning instances',
    catalog: [state(node('foo', '127.0.0.1'), [svc('db', { port: 1, weights: { Passing: 10, Warning: 2 } })], [check('foo', 'c', 'warning', 'db', 'db')])],
    q: ['db.service.consul', 'SRV'], answer: ['db.service.consul 0 SRV 1 2 1 foo.node.dc1.consul'] },
  { name: 'service qtype MX → NODATA + SOA', q: ['db.service.consul', 'MX'], rcode: 'NOERROR', answer: [], authority: [SOA()] },
  { name: 'service qtype TXT → A records (Consul quirk kept)', catalog: one, q: ['db.service.consul', 'TXT'], answer: ['db.service.consul 0 A 127.0.0.1'] },
  { name: 'service qtype CNAME on a hostname address → CNAME', catalog: [state(node('foo', '127.0.0.1'), [svc('db', { address: 'www.example.org' })])],
    q: ['db.service.consul', 'CNAME'], answer: ['db.service.consul 0 CNAME www.example.org'] },
];

const ttlCatalog = ['db', 'dblb', 'dk', 'api'].map((s, i) => state(node(`n${i}`, `127.0.0.${i + 1}`), [svc(s, { port: 1 })]));
for (const [svcName, ttl] of [['db', 10], ['dblb', 3], ['dk', 5], ['api', 7]] as const) {
  cases.push({ name: `TestDNS_ServiceLookup_TTL: ${svcName} → ${ttl}s (exact > longest prefix* > *)`, catalog: ttlCatalog,
    config: { dns: { serviceTtlMs: { db: 10_000, 'db*': 66_000, 'dbl*': 3_000, 'd*': 5_000, '*': 7_000 } } },
    q: [`${svcName}.service.consul`, 'SRV'], check: (t, r) => { t.is((r.answers![0] as { ttl: number }).ttl, ttl); t.is((r.additionals![0] as { ttl: number }).ttl, ttl); } });
}

runCases(test, 'dns service', cases, base);

function many(n: number, prefix = '127.0.0.'): ReturnType<typeof state>[] {
  return Array.from({ length: n }, (_, i) => state(node(`n${i}`, `${prefix}${i + 1}`), [svc('web', { port: 8000 + i })]));
}

test('dns service: TestDNS_ServiceLookup_OnlyPassing: warning excluded; reload reverts', async t => {
  const cat = [state(node('a', '127.0.0.1'), [svc('db')], [check('a', 'c', 'warning', 'db', 'db')]), state(node('b', '127.0.0.2'), [svc('db')])];
  const { server } = makeServer(cat, { dns: { onlyPassing: true } });
  t.deepEqual(rrs((await ask(server, 'db.service.consul', 'A')).answers), ['db.service.consul 0 A 127.0.0.2']);
  const { config } = await import('./helpers.ts');
  server.reload(config({ dns: { onlyPassing: false } }));
  t.is((await ask(server, 'db.service.consul', 'A')).answers!.length, 2);
});

test('dns service: TestDNS_ServiceLookup_FilterACL: not applicable (no ACLs); every visible instance is returned', async t => {
  const { server } = makeServer(many(2));
  t.is((await ask(server, 'web.service.consul', 'A')).answers!.length, 2);
});

test('dns service: TestDNS_ServiceLookup_Randomize: shuffled, 3 answers on plain UDP, all on TCP', async t => {
  const { server } = makeServer(many(10));
  const orders = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const r = await ask(server, 'web.service.consul', 'A');
    t.is(r.answers!.length, 3);
    t.false(has(r.flags, TC));
    orders.add(rrs(r.answers).join(','));
  }
  t.true(orders.size >= 2, `orderings: ${orders.size}`);
  const tcpOrders = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const r = await ask(server, 'web.service.consul', 'A', { transport: 'tcp' });
    t.is(r.answers!.length, 10);
    tcpOrders.add(rrs(r.answers).join(','));
  }
  t.true(tcpOrders.size >= 2);
});

test('dns service: TestDNS_ServiceLookup_Truncate: TC only with enable_truncate', async t => {
  const off = await ask(makeServer(many(96)).server, 'web.service.consul', 'A');
  t.is(off.answers!.length, 3); t.false(has(off.flags, TC));
  const { server } = makeServer(many(96), { dns: { enableTruncate: true } });
  const on = await ask(server, 'web.service.consul', 'A');
  t.true(has(on.flags, TC)); t.is(on.answers!.length, 3);
  const tcp = await ask(server, 'web.service.consul', 'A', { transport: 'tcp' });
  t.false(has(tcp.flags, TC)); t.is(tcp.answers!.length, 96);
});

test('dns service: TestDNS_ServiceLookup_LargeResponses: 2 long SRV fit 512 B, additional matches answers, TC', async t => {
  const long = '_'.repeat(0) + 'this-is-a-very-very-very-very-very-long-name-for-a-service';
  const cat = [0, 1].map(i => state(node(`${'n'.repeat(50)}${i}`, `127.0.0.${i + 1}`, { meta: { key: 'x'.repeat(100) } }), [svc(long, { tags: ['this-is-a-very-very-very-very-very-long-tag'], port: 12345 })]));
  const { server } = makeServer(cat, { dns: { enableTruncate: true } });
  const r = await ask(server, `this-is-a-very-very-very-very-very-long-tag.${long}.service.consul`, 'SRV');
  t.true(r.raw.length <= 512, `size ${r.raw.length}`);
  t.true(has(r.flags, TC));
  const targets = r.answers!.map(a => (a as { data: { target: string } }).data.target).sort();
  t.deepEqual(r.additionals!.filter(a => a.type !== 'OPT').map(a => a.name).sort(), targets);
});

for (const [limit, udp, edns, tcp] of [[0, 3, 8, 8], [1, 1, 1, 1], [2, 2, 2, 2], [6, 3, 6, 6]] as const) {
  test(`dns service: TestDNS_ServiceLookup_ARecordLimits: a_record_limit=${limit} → udp ${udp}, edns ${edns}, tcp ${tcp}; SRV unaffected`, async t => {
    const { server } = makeServer(many(8), { dns: { aRecordLimit: limit } });
    t.is((await ask(server, 'web.service.consul', 'A')).answers!.length, udp);
    t.is((await ask(server, 'web.service.consul', 'A', { edns: 4096 })).answers!.length, edns);
    t.is((await ask(server, 'web.service.consul', 'A', { transport: 'tcp' })).answers!.length, tcp);
    t.is((await ask(server, 'web.service.consul', 'ANY', { transport: 'tcp' })).answers!.length, tcp);
    t.is((await ask(server, 'web.service.consul', 'SRV', { transport: 'tcp' })).answers!.length, 8);
  });
}

for (const limit of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 20, 30]) {
  test(`dns service: TestDNS_ServiceLookup_AnswerLimits: udp_answer_limit=${limit} → ${Math.min(limit, 8)} (cap 8, non-EDNS only)`, async t => {
    const { server } = makeServer(many(30), { dns: { udpAnswerLimit: limit } });
    t.is((await ask(server, 'web.service.consul', 'A')).answers!.length, Math.min(limit, 8));
    t.is((await ask(server, 'web.service.consul', 'A', { edns: 4096 })).answers!.length, 30);
    const srv = await ask(server, 'web.service.consul', 'SRV');
    t.is(srv.answers!.length, Math.min(limit, 8, 5), 'SRV: the count cap, then the 512-byte size cap (5 SRV + 5 A here)');
    t.true(srv.raw.length <= 512);
  });
}

test('dns service: cached answers follow catalog changes (precise invalidation)', async t => {
  const { server, view } = makeServer(many(2));
  t.is((await ask(server, 'web.service.consul', 'A')).answers!.length, 2);
  t.is((await ask(server, 'n0.node.consul', 'A')).answers!.length, 1);
  const before = server.stats().entries;
  view.putNode('n1', state(node('n1', '127.0.0.2'), [svc('web')], [check('n1', 'c', 'critical', 'web', 'web')]), 2);
  t.is(server.stats().entries, before - 1, 'only the web entry went');
  t.deepEqual(rrs((await ask(server, 'web.service.consul', 'A')).answers), ['web.service.consul 0 A 127.0.0.1']);
  view.putNode('n0', null, 3);
  t.is((await ask(server, 'web.service.consul', 'A')).rcode, 'NXDOMAIN');
  t.is((await ask(server, 'n0.node.consul', 'A')).rcode, 'NXDOMAIN');
});
