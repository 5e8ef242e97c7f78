/**
 * Consul DNS conformance, §11 "Core/transport", "SOA/NS/alt domain" and "addr/virtual/tagged"
 * (agent/dns_test.go). One test per Go test; the Go name leads each title.
 */
import test from 'ava';
import dnsPacket from 'dns-packet';
import { runCases, node, svc, state, check, SOA, makeServer, ask, rrs, has, AA, RA } from './helpers.ts';
import type { Case } from './helpers.ts';
import { parseLocality, parseName } from '../../src/dns/parse-name.ts';
import { parseRecursor } from '../../src/dns/runtime.ts';
import { encodeKVasRFC1464, shuffle } from '../../src/dns/records.ts';
import { mock } from 'node:test';

const base = [
  state(node('foo', '127.0.0.1', { meta: { key: 'value' } }), [svc('db', { tags: ['primary'], port: 12345 })]),
  state(node('server1', '127.0.0.9'), [svc('consul', { port: 8300 })]),
];
const v6server = [state(node('server1', '::1'), [svc('consul', { port: 8300 })])];
const alt = { altDomain: 'test-domain' };

const cases: Case[] = [
  { name: 'TestDNS_Over_TCP: node ANY over TCP', q: ['foo.node.dc1.consul', 'ANY', { transport: 'tcp' }], rcode: 'NOERROR',
    answer: ['foo.node.dc1.consul 0 A 127.0.0.1', 'foo.node.dc1.consul 0 TXT key=value'] },
  { name: 'TestDNS_EDNS0: OPT echoes the client size 12345', q: ['foo.node.dc1.consul', 'A', { edns: 12345 }], rcode: 'NOERROR',
    check: (t, r) => { const o = r.additionals!.find(a => a.type === 'OPT') as { udpPayloadSize: number } | undefined; t.is(o?.udpPayloadSize, 12345); } },
  { name: 'TestDNS_EDNS0_ECS: ECS echoed with scope 0 for a service answer', q: ['db.service.consul', 'A', { ecs: { family: 1, sourcePrefixLength: 32, ip: '127.0.0.1' } }],
    answer: ['db.service.consul 0 A 127.0.0.1'],
    check: (t, r) => {
      const o = r.additionals!.find(a => a.type === 'OPT') as { options: { code: number; sourcePrefixLength: number; scopePrefixLength: number; ip: string }[] };
      t.like(o.options[0], { code: 8, sourcePrefixLength: 32, scopePrefixLength: 0, ip: '127.0.0.1' });
    } },
  { name: 'TestDNS_EDNS0_ECS: prepared query (none in Roster) → NXDOMAIN, ECS scope 0', q: ['test.query.consul', 'A', { ecs: { family: 1, sourcePrefixLength: 24, ip: '127.0.0.0' } }],
    rcode: 'NXDOMAIN', check: (t, r) => {
      const o = r.additionals!.find(a => a.type === 'OPT') as { options: { scopePrefixLength: number; sourcePrefixLength: number; ip: string }[] };
      t.like(o.options[0], { sourcePrefixLength: 24, scopePrefixLength: 0, ip: '127.0.0.0' });
    } },
  { name: 'TestDNS_ECSNotGlobalError: NXDOMAIN is always global (scope 0)', q: ['nope.service.consul', 'A', { ecs: { family: 2, sourcePrefixLength: 56, ip: '2001:db8::' } }],
    rcode: 'NXDOMAIN', check: (t, r) => {
      const o = r.additionals!.find(a => a.type === 'OPT') as { options: { scopePrefixLength: number; family: number }[] };
      t.like(o.options[0], { family: 2, scopePrefixLength: 0 });
    } },
  { name: 'TestDNS_EmptyAltDomain: out-of-zone consul.service. is refused, no answer', q: ['consul.service', 'A'], rcode: 'REFUSED', answer: [],
    check: (t, r) => { t.false(has(r.flags, AA)); t.false(has(r.flags, RA)); t.is(r.questions![0]!.name, 'consul.service'); t.is(r.additionals!.length, 0); } },
  ...['consul', 'node.consul', 'service.consul', 'query.consul', 'foo.node.dc1.extra.more.consul', 'foo.service.dc1.extra.more.consul', 'foo.query.dc1.extra.more.consul']
    .map((n): Case => ({ name: `TestDNS_InvalidQueries: ${n}. → NXDOMAIN + SOA`, q: [n, 'SRV'], rcode: 'NXDOMAIN', answer: [], authority: [SOA()] })),
  { name: 'TestDNS_NonExistentLookup: nonexisting.consul. → SOA with TTL 0', q: ['nonexisting.consul', 'ANY'], rcode: 'NXDOMAIN', authority: [SOA()] },
  { name: 'TestDNS_NonExistentDC_Server: unknown DC → NXDOMAIN, SOA consul./ns./hostmaster.', q: ['consul.service.dc2.consul', 'ANY'], rcode: 'NXDOMAIN', authority: [SOA()] },
  { name: 'TestDNS_NonExistentDC_RPC: unknown DC for a node → NXDOMAIN + SOA', q: ['foo.node.dc2.consul', 'A'], rcode: 'NXDOMAIN', authority: [SOA()] },
  { name: 'TestDNS_NonExistentLookupEmptyAorAAAA: AAAA on an IPv4-only service → NODATA + SOA', q: ['db.service.consul', 'AAAA'], rcode: 'NOERROR', answer: [], authority: [SOA()] },
  { name: 'TestDNS_NonExistentLookupEmptyAorAAAA: A on an IPv6-only service → NODATA + SOA',
    catalog: [state(node('foo6', '::1'), [svc('webv6')])], q: ['webv6.service.consul', 'A'], rcode: 'NOERROR', answer: [], authority: [SOA()] },
  { name: 'TestDNS_SOA_Settings: defaults 3600/600/86400/0', q: ['consul', 'SOA'], rcode: 'NOERROR', answer: [SOA()] },
  { name: 'TestDNS_SOA_Settings: overrides; record TTL = min_ttl', config: { dns: { soa: { refresh: 10, retry: 20, expire: 30, minTtl: 40 } } },
    q: ['consul', 'SOA'], answer: ['consul 40 SOA ns.consul hostmaster.consul 10 20 30 40'] },
  { name: 'TestDNS_SOA_Settings: min_ttl on negative answers', config: { dns: { soa: { refresh: 3600, retry: 600, expire: 86400, minTtl: 60 } } },
    q: ['nope.service.consul', 'A'], rcode: 'NXDOMAIN', authority: ['consul 60 SOA ns.consul hostmaster.consul 3600 600 86400 60'] },
  // SOA / NS / alt domain
  { name: 'TestDNS_NSRecords: NS for any in-zone name → apex NS + glue A, TTL 0', q: ['server1.node.dc1.consul', 'NS'], rcode: 'NOERROR',
    answer: ['consul 0 NS server1.node.dc1.consul'], additional: ['server1.node.dc1.consul 0 A 127.0.0.9'], check: (t, r) => t.true(has(r.flags, AA)) },
  { name: 'TestDNS_NSRecords_IPV6: glue AAAA', catalog: v6server, q: ['server1.node.dc1.consul', 'NS'],
    answer: ['consul 0 NS server1.node.dc1.consul'], additional: ['server1.node.dc1.consul 0 AAAA ::1'] },
  { name: 'TestDNS_AltDomain_NSRecords: names follow the asked domain', config: alt, q: ['test-domain', 'NS'],
    answer: ['test-domain 0 NS server1.node.dc1.test-domain'], additional: ['server1.node.dc1.test-domain 0 A 127.0.0.9'] },
  { name: 'TestDNS_AltDomain_NSRecords_IPV6', config: alt, catalog: v6server, q: ['server1.node.dc1.test-domain', 'NS'],
    answer: ['test-domain 0 NS server1.node.dc1.test-domain'], additional: ['server1.node.dc1.test-domain 0 AAAA ::1'] },
  { name: 'TestDNS_AltDomains_SOA: SOA owner/mname follow the alt domain', config: alt, q: ['foo.node.test-domain', 'SOA'],
    answer: [SOA('test-domain')], authority: ['test-domain 0 NS server1.node.dc1.test-domain'] },
  { name: 'TestDNS_AltDomains_SOA: primary domain keeps its own', config: alt, q: ['foo.node.consul', 'SOA'], answer: [SOA('consul')] },
  { name: 'TestDNS_AltDomains_Service: SRV target, additional A and TXT use the alt domain', config: alt, q: ['db.service.test-domain', 'SRV'],
    answer: ['db.service.test-domain 0 SRV 1 1 12345 foo.node.dc1.test-domain'],
    additional: ['foo.node.dc1.test-domain 0 A 127.0.0.1', 'foo.node.dc1.test-domain 0 TXT key=value'] },
  { name: 'TestDNS_AltDomains_Overlap: nested alt domain test.consul. (alt)', config: { altDomain: 'test.consul' }, q: ['foo.node.test.consul', 'A'],
    rcode: 'NOERROR', answer: ['foo.node.test.consul 0 A 127.0.0.1'] },
  { name: 'TestDNS_AltDomains_Overlap: nested alt domain test.consul. (primary)', config: { altDomain: 'test.consul' }, q: ['foo.node.consul', 'A'],
    rcode: 'NOERROR', answer: ['foo.node.consul 0 A 127.0.0.1'] },
  { name: 'TestDNS_AltDomain_DCName_Overlap: DC name inside the alt domain', config: { datacenter: 'test-dc', altDomain: 'test-dc.consul' },
    catalog: [state(node('foo', '127.0.0.1', { dc: 'test-dc' }))], q: ['foo.node.test-dc.consul', 'A'], rcode: 'NOERROR', answer: ['foo.node.test-dc.consul 0 A 127.0.0.1'] },
  { name: 'TestDNS_AltDomain_ServiceLookup_ServiceAddress_A: addr target in the alt domain', config: alt,
    catalog: [state(node('foo', '127.0.0.1'), [svc('db', { address: '127.0.0.2', port: 12345 })])], q: ['db.service.test-domain', 'SRV'],
    answer: ['db.service.test-domain 0 SRV 1 1 12345 7f000002.addr.dc1.test-domain'], additional: ['7f000002.addr.dc1.test-domain 0 A 127.0.0.2'] },
  { name: 'TestDNS_AltDomain_ServiceLookup_ServiceAddressIPV6', config: alt,
    catalog: [state(node('foo', '127.0.0.1'), [svc('db', { address: '2607:20:4005:808::200e', port: 12345 })])], q: ['db.service.test-domain', 'SRV'],
    answer: ['db.service.test-domain 0 SRV 1 1 12345 2607002040050808000000000000200e.addr.dc1.test-domain'],
    additional: ['2607002040050808000000000000200e.addr.dc1.test-domain 0 AAAA 2607:20:4005:808::200e'] },
  // addr / virtual / tagged
  { name: 'TestDNS_AddressLookup: hex → A, TTL 0, no NS/extra', q: ['7f000001.addr.dc1.consul', 'A'], rcode: 'NOERROR',
    answer: ['7f000001.addr.dc1.consul 0 A 127.0.0.1'], authority: [], additional: [] },
  { name: 'TestDNS_AddressLookupANY', q: ['7f000001.addr.dc1.consul', 'ANY'], answer: ['7f000001.addr.dc1.consul 0 A 127.0.0.1'] },
  { name: 'TestDNS_AddressLookupInvalidType: SRV → NOERROR, A in additional', q: ['7f000001.addr.dc1.consul', 'SRV'], rcode: 'NOERROR',
    answer: [], authority: [], additional: ['7f000001.addr.dc1.consul 0 A 127.0.0.1'] },
  { name: 'TestDNS_AddressLookupIPV6', q: ['2607002040050808000000000000200e.addr.consul', 'AAAA'],
    answer: ['2607002040050808000000000000200e.addr.consul 0 AAAA 2607:20:4005:808::200e'] },
  { name: 'TestDNS_AddressLookupIPV6InvalidType', q: ['2607002040050808000000000000200e.addr.consul', 'SRV'], rcode: 'NOERROR', answer: [],
    additional: ['2607002040050808000000000000200e.addr.consul 0 AAAA 2607:20:4005:808::200e'] },
  { name: 'TestDNS_AddressLookup: bad hex length → NXDOMAIN', q: ['7f00001.addr.consul', 'A'], rcode: 'NXDOMAIN', authority: [SOA()] },
  { name: 'TestDNS_VirtualIPLookup: no virtual IPs in Roster → NOERROR, empty, no SOA', q: ['db.virtual.consul', 'A'], rcode: 'NOERROR', answer: [], authority: [] },
  { name: 'TestDNS_CE_PeeredServices: no peerings in Roster → .peer lookups NXDOMAIN + SOA', q: ['db.service.cluster-01.peer.consul', 'SRV'], rcode: 'NXDOMAIN', authority: [SOA()] },
  { name: 'TestDNS_ServiceLookup_WanTranslation: only the local DC exists → remote DC NXDOMAIN', q: ['db.service.dc2.consul', 'SRV'], rcode: 'NXDOMAIN', authority: [SOA()] },
  { name: 'TestDNS_VirtualIPLookup: peer form parses the same', q: ['db.virtual.cluster2.consul', 'A'], rcode: 'NOERROR', answer: [], authority: [] },
];

const tagged = [state(node('foo', '127.0.0.1', { tagged: { lan_ipv4: '10.0.0.1', lan_ipv6: '::2' } }),
  [svc('db', { address: '127.0.0.2', tagged: { lan_ipv4: { Address: '10.0.0.2', Port: 1 }, lan_ipv6: { Address: '::3', Port: 1 } } })])];
cases.push(
  { name: 'TestDNS_Lookup_TaggedIPAddresses: service A uses lan_ipv4', catalog: tagged, q: ['db.service.consul', 'A'], answer: ['db.service.consul 0 A 10.0.0.2'] },
  { name: 'TestDNS_Lookup_TaggedIPAddresses: service AAAA uses lan_ipv6', catalog: tagged, q: ['db.service.consul', 'AAAA'], answer: ['db.service.consul 0 AAAA ::3'] },
  { name: 'TestDNS_Lookup_TaggedIPAddresses: node A uses lan_ipv4', catalog: tagged, q: ['foo.node.consul', 'A'], answer: ['foo.node.consul 0 A 10.0.0.1'] },
  { name: 'TestDNS_Lookup_TaggedIPAddresses: node AAAA uses lan_ipv6', catalog: tagged, q: ['foo.node.consul', 'AAAA'], answer: ['foo.node.consul 0 AAAA ::2'] },
);

runCases(test, 'dns core', cases, base);

test('dns core: TestDNS_PerfectlyRandomChoices: the shuffle is uniform over positions', t => {
  const n = 5; const rounds = 20000;
  const counts = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let r = 0; r < rounds; r++) shuffle([0, 1, 2, 3, 4]).forEach((v, i) => counts[v]![i]!++);
  for (const row of counts) for (const c of row) t.true(Math.abs(c - rounds / n) < rounds / n * 0.1, `count ${c}`);
});

for (const [labels, want] of [
  [[], { datacenter: '', peer: '', peerOrDatacenter: '' }],
  [['dc2'], { datacenter: '', peer: '', peerOrDatacenter: 'dc2' }],
  [['dc2', 'dc'], { datacenter: 'dc2', peer: '', peerOrDatacenter: '' }],
  [['p1', 'peer'], { datacenter: '', peer: 'p1', peerOrDatacenter: '' }],
  [['p1', 'peer', 'dc2', 'dc'], null],
  [['a', 'b'], null],
  [['a', 'b', 'c'], null],
] as const) {
  test(`dns core: TestDNS_ParseLocality: ${JSON.stringify(labels)}`, t => { t.deepEqual(parseLocality(labels), want); });
}

for (const [labels, dc] of [[['db', 'service'], null], [['db', 'service', 'dc2'], 'dc2'], [['db', 'service', 'dc3', 'dc'], 'dc3'], [['db', 'service', 'p', 'peer'], null]] as const) {
  test(`dns core: TestDNS_EffectiveDatacenter: ${labels.join('.')} → ${dc}`, t => {
    const p = parseName(labels, false);
    t.is(p.kind, 'service');
    t.is((p as { dc: string | null }).dc, dc);
  });
}

for (const [inp, want] of [['8.8.8.8', '8.8.8.8:53'], ['8.8.8.8:5353', '8.8.8.8:5353'], ['::1', '::1:53'], ['[::1]:5353', '::1:5353'], ['[2001:db8::1]', '2001:db8::1:53']] as const) {
  test(`dns core: TestDNS_RecursorAddr: ${inp}`, t => { const r = parseRecursor(inp); t.is(`${r.host}:${r.port}`, want); });
}
test('dns core: TestDNS_RecursorAddr: rejects a hostname and a bad port', t => {
  t.throws(() => parseRecursor('resolver.example'));
  t.throws(() => parseRecursor('1.2.3.4:99999'));
});

for (const [k, v, want] of [['a', 'b', 'a=b'], ['a=a', 'true', 'a`=a=true'], ['a`', 'b`', 'a``=b``'], [' a ', 'b', '` a` =b'], ['  a', 'b', '` ` a=b'], ['key', 'v=a=l', 'key=v=a=l']] as const) {
  test(`dns core: TestDNS_EncodeKVasRFC1464: ${JSON.stringify(k)}=${JSON.stringify(v)}`, t => { t.is(encodeKVasRFC1464(k, v), want); });
}

test('dns core: question echoed verbatim (0x20 case) and ID/RD/CD copied', async t => {
  const { server } = makeServer(base);
  const r = await ask(server, 'Db.SeRvIcE.cOnSuL', 'A', { id: 777, cd: true });
  t.is(r.id, 777);
  t.is(r.questions![0]!.name, 'Db.SeRvIcE.cOnSuL');
  t.deepEqual(rrs(r.answers), ['Db.SeRvIcE.cOnSuL 0 A 127.0.0.1']);
  t.true(has(r.flags, 1 << 8) && has(r.flags, 1 << 4));
  t.true(has(r.flags, AA));
  const r2 = await ask(server, 'db.service.consul', 'A', { rd: false });
  t.false(has(r2.flags, 1 << 8));
});

test('dns core: AXFR → NOTIMP with AA', async t => {
  const { server } = makeServer(base);
  const r = await ask(server, 'consul', 'AXFR');
  t.is(r.rcode, 'NOTIMP');
  t.true(has(r.flags, AA));
});

test('dns core: RA set iff recursors configured', async t => {
  const a = await ask(makeServer(base).server, 'db.service.consul', 'A');
  t.false(has(a.flags, RA));
  const b = await ask(makeServer(base, { recursors: ['127.0.0.1:1'] }).server, 'db.service.consul', 'A');
  t.true(has(b.flags, RA));
});

test.serial('dns core: SOA serial is the current Unix time', async t => {
  // A fake clock (node:test mock Date): the serial must follow it exactly, on the first (built)
  // answer and on the repeat served from the answer cache.
  mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_999 });
  t.teardown(() => mock.timers.reset());
  const { server } = makeServer(base);
  const serialOf = async () => ((await ask(server, 'consul', 'SOA')).answers![0] as { data: dnsPacket.SoaData }).data.serial;
  t.is(await serialOf(), 1_700_000_000);
  mock.timers.tick(5_000);
  t.is(await serialOf(), 1_700_000_005, 'a later query carries the later time');
  mock.timers.tick(86_400_000);
  t.is(await serialOf(), 1_700_086_405);
});
