/**
 * Consul DNS conformance, §11 "Node" (agent/dns_node_lookup_test.go) and "Reverse"
 * (agent/dns_reverse_lookup_test.go).
 */
import test from 'ava';
import { runCases, node, svc, state, SOA } from './helpers.ts';
import type { Case } from './helpers.ts';

const base = [
  state(node('foo', '127.0.0.1', { meta: { key: 'value' } }), [svc('db', { address: '127.0.0.2', port: 12345 })]),
  state(node('bar', '::4242:4242', { meta: { 'rfc1035-00': 'value0', 'key0': 'value0' } })),
  state(node('foo.bar', '127.0.0.3')),
  state(node('google', 'www.google.com')),
  state(node('alias', 'foo.node.consul')),
];
const noTxt = { dns: { enableAdditionalNodeMetaTxt: false } };

const cases: Case[] = [
  { name: 'TestDNS_NodeLookup: A → A + TXT in additional', q: ['foo.node.consul', 'A'], rcode: 'NOERROR',
    answer: ['foo.node.consul 0 A 127.0.0.1'], additional: ['foo.node.consul 0 TXT key=value'] },
  { name: 'TestDNS_NodeLookup: dc-qualified', q: ['foo.node.dc1.consul', 'A'], answer: ['foo.node.dc1.consul 0 A 127.0.0.1'] },
  { name: 'TestDNS_NodeLookup: unknown node → NXDOMAIN + SOA', q: ['nofoo.node.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA()] },
  { name: 'TestDNS_NodeLookup: unsupported qtype → NOERROR, empty, no SOA (even unknown node)', q: ['nofoo.node.consul', 'MX'], rcode: 'NOERROR', answer: [], authority: [] },
  { name: 'TestDNS_NodeLookup_CaseInsensitive', q: ['fOO.NoDe.CoNsUl', 'A'], answer: ['fOO.NoDe.CoNsUl 0 A 127.0.0.1'] },
  { name: 'TestDNS_NodeLookup_PeriodName: dotted node name', q: ['foo.bar.node.consul', 'A'], answer: ['foo.bar.node.consul 0 A 127.0.0.3'] },
  { name: 'TestDNS_NodeLookup_AAAA', q: ['bar.node.consul', 'AAAA'], answer: ['bar.node.consul 0 AAAA ::4242:4242'] },
  { name: 'TestDNS_NodeLookup_AAAA: A on IPv6-only node → NOERROR, empty, no SOA', q: ['bar.node.consul', 'A'], config: noTxt, rcode: 'NOERROR', answer: [], authority: [] },
  { name: 'TestDNS_NodeLookup_CNAME: hostname node → CNAME (no recursors: bare)', q: ['google.node.consul', 'ANY'],
    answer: ['google.node.consul 0 CNAME www.google.com'] },
  { name: 'TestDNS_NodeLookup_CNAME: in-zone target resolved internally', q: ['alias.node.consul', 'A'],
    answer: ['alias.node.consul 0 CNAME foo.node.consul', 'foo.node.consul 0 A 127.0.0.1', 'foo.node.consul 0 TXT key=value'] },
  { name: 'TestDNS_NodeLookup_TXT: one TXT per key, rfc1035- raw', q: ['bar.node.consul', 'TXT'],
    answer: ['bar.node.consul 0 TXT value0', 'bar.node.consul 0 TXT key0=value0'] },
  { name: 'TestDNS_NodeLookup_TXT_DontSuppress: meta_txt=false keeps TXT answers', config: noTxt, q: ['bar.node.consul', 'TXT'],
    answer: ['bar.node.consul 0 TXT value0', 'bar.node.consul 0 TXT key0=value0'] },
  { name: 'TestDNS_NodeLookup_ANY: exact answer [A, TXT]', q: ['bar.node.consul', 'ANY'],
    answer: ['bar.node.consul 0 AAAA ::4242:4242', 'bar.node.consul 0 TXT value0', 'bar.node.consul 0 TXT key0=value0'], additional: [] },
  { name: 'TestDNS_NodeLookup_ANY_DontSuppressTXT', config: noTxt, q: ['bar.node.consul', 'ANY'],
    answer: ['bar.node.consul 0 AAAA ::4242:4242', 'bar.node.consul 0 TXT value0', 'bar.node.consul 0 TXT key0=value0'] },
  { name: 'TestDNS_NodeLookup_A_SuppressTXT: no additional', config: noTxt, q: ['foo.node.consul', 'A'], answer: ['foo.node.consul 0 A 127.0.0.1'], additional: [] },
  { name: 'TestDNS_NodeLookup_TTL: node_ttl on A', config: { dns: { nodeTtlMs: 10_000 } }, q: ['foo.node.consul', 'A'],
    answer: ['foo.node.consul 10 A 127.0.0.1'], additional: ['foo.node.consul 10 TXT key=value'] },
  { name: 'TestDNS_NodeLookup_TTL: node_ttl on AAAA', config: { dns: { nodeTtlMs: 10_000 } }, q: ['bar.node.consul', 'AAAA'], answer: ['bar.node.consul 10 AAAA ::4242:4242'] },
  { name: 'TestDNS_NodeLookup_TTL: node_ttl on CNAME', config: { dns: { nodeTtlMs: 10_000 } }, q: ['google.node.consul', 'A'], answer: ['google.node.consul 10 CNAME www.google.com'] },
  // reverse
  { name: 'TestDNS_ReverseLookup: node PTR', q: ['1.0.0.127.in-addr.arpa', 'PTR'], rcode: 'NOERROR', answer: ['1.0.0.127.in-addr.arpa 0 PTR foo.node.dc1.consul'] },
  { name: 'TestDNS_ReverseLookup_CustomDomain', config: { domain: 'custom' }, q: ['1.0.0.127.in-addr.arpa', 'PTR'], answer: ['1.0.0.127.in-addr.arpa 0 PTR foo.node.dc1.custom'] },
  { name: 'TestDNS_ReverseLookup_IPV6', q: ['2.4.2.4.2.4.2.4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa', 'PTR'],
    answer: ['2.4.2.4.2.4.2.4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa 0 PTR bar.node.dc1.consul'] },
  { name: 'TestDNS_ServiceReverseLookup: service address PTR', q: ['2.0.0.127.in-addr.arpa', 'PTR'], answer: ['2.0.0.127.in-addr.arpa 0 PTR db.service.dc1.consul'] },
  { name: 'TestDNS_ServiceReverseLookup_IPV6', catalog: [state(node('foo', '127.0.0.1'), [svc('db', { address: '2001:db8::ff00:42:8329' })])],
    q: ['9.2.3.8.2.4.0.0.0.0.f.f.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa', 'PTR'],
    answer: ['9.2.3.8.2.4.0.0.0.0.f.f.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa 0 PTR db.service.dc1.consul'] },
  { name: 'TestDNS_ServiceReverseLookup_CustomDomain', config: { domain: 'custom' }, q: ['2.0.0.127.in-addr.arpa', 'PTR'], answer: ['2.0.0.127.in-addr.arpa 0 PTR db.service.dc1.custom'] },
  { name: 'TestDNS_ServiceReverseLookupNodeAddress: node match wins', catalog: [state(node('foo', '127.0.0.1'), [svc('db', { address: '127.0.0.1' })])],
    q: ['1.0.0.127.in-addr.arpa', 'PTR'], answer: ['1.0.0.127.in-addr.arpa 0 PTR foo.node.dc1.consul'] },
  { name: 'TestDNS_Compression_ReverseLookup: the compressed reply is smaller and still decodes', q: ['1.0.0.127.in-addr.arpa', 'PTR'],
    check: (t, r) => t.true(r.raw.length < 12 + 2 * 24 + 10 + 4 + 22) },
  { name: 'TestDNS_ReverseLookup_NotFound: no recursors → NXDOMAIN + SOA, no answer/extra', q: ['1.1.0.127.in-addr.arpa', 'PTR'],
    rcode: 'NXDOMAIN', answer: [], additional: [], authority: [SOA()] },
  { name: 'TestDNS_ReverseLookup: qtype ignored under arpa. (A → PTR)', q: ['1.0.0.127.in-addr.arpa', 'A'], answer: ['1.0.0.127.in-addr.arpa 0 PTR foo.node.dc1.consul'] },
  { name: 'TestDNS_ReverseLookup: SOA qtype adds the SOA', q: ['1.0.0.127.in-addr.arpa', 'SOA'], answer: ['1.0.0.127.in-addr.arpa 0 PTR foo.node.dc1.consul'], authority: [SOA()] },
];

runCases(test, 'dns node', cases, base);
