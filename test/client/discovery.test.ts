import test from 'ava';
import { aggregateStatus, toInstances } from '../../src/client/discovery.ts';
import { addrFromTarget } from '../../src/client/dns.ts';
import { serviceDefinition } from '../../src/client/registration.ts';
import { baseUrl, jitter } from '../../src/client/api.ts';

const entry = (id: string, statuses: string[], o: { addr?: string; nodeAddr?: string } = {}) => ({
  Node: { Node: 'n1', Address: o.nodeAddr ?? '10.0.0.1' },
  Service: { ID: id, Service: 'web', Address: o.addr ?? '', Port: 80, Tags: null, Meta: null },
  Checks: statuses.map((s, i) => ({ Status: s, CheckID: i === 0 && s === 'maint' ? '_service_maintenance:x' : `c${i}` })),
});

for (const [checks, want] of [
  [[], 'passing'], [['passing', 'passing'], 'passing'], [['passing', 'warning'], 'warning'], [['warning', 'critical'], 'critical'],
] as const) {
  test(`discovery: aggregate status of [${checks.join(',')}] is ${want}`, t => {
    t.is(aggregateStatus(checks.map((s, i) => ({ Status: s, CheckID: `c${i}` }))), want);
  });
}

test('discovery: maintenance checks count as critical', t => {
  t.is(aggregateStatus([{ Status: 'passing', CheckID: '_node_maintenance' }]), 'critical');
});

test('discovery: health entries become instances (node address fallback, nulls → empty)', t => {
  const list = toInstances([entry('a', ['passing']), entry('b', ['passing'], { addr: '10.9.9.9' })], true);
  t.deepEqual(list.map(i => [i.id, i.address, i.tags, i.meta, i.weights]), [
    ['a', '10.0.0.1', [], {}, { Passing: 1, Warning: 1 }], ['b', '10.9.9.9', [], {}, { Passing: 1, Warning: 1 }],
  ]);
});

test('discovery: passingOnly drops warning; critical is always dropped', t => {
  const es = [entry('p', ['passing']), entry('w', ['warning']), entry('c', ['critical'])];
  t.deepEqual(toInstances(es, true).map(i => i.id), ['p']);
  t.deepEqual(toInstances(es, false).map(i => `${i.id}:${i.status}`), ['p:passing', 'w:warning']);
});

test('discovery: SRV addr targets decode to IPv4', t => {
  t.is(addrFromTarget('7f000001.addr.dc1.consul.'), '127.0.0.1');
  t.is(addrFromTarget('0a0b0c0d.addr.dc1.consul'), '10.11.12.13');
  t.is(addrFromTarget('node1.node.dc1.consul.'), null);
});

test('registration: definition body with a TTL check and defaults', t => {
  t.deepEqual(serviceDefinition({ name: 'web', port: 80, check: { ttl: '10s' } }), {
    ID: 'web', Name: 'web', Port: 80, Tags: [], Check: { CheckID: 'service:web', Name: "Service 'web' check", TTL: '10s' },
  });
});

test('registration: HTTP and TCP checks get an interval', t => {
  const h = serviceDefinition({ name: 'web', id: 'w1', check: { http: 'http://x/health', timeout: '1s' } });
  t.like(h.Check as object, { CheckID: 'service:w1', HTTP: 'http://x/health', Interval: '10s', Timeout: '1s' });
  const c = serviceDefinition({ name: 'db', check: { tcp: '127.0.0.1:5432', interval: '2s' } });
  t.like(c.Check as object, { TCP: '127.0.0.1:5432', Interval: '2s' });
  t.throws(() => serviceDefinition({ name: '' }));
});

test('api: CONSUL_HTTP_ADDR forms become base URLs', t => {
  t.is(baseUrl('127.0.0.1:8500'), 'http://127.0.0.1:8500');
  t.is(baseUrl('http://h:1/'), 'http://h:1');
  t.is(baseUrl('https://h'), 'https://h');
});

test('api: jitter stays within ±fraction', t => {
  t.is(jitter(100, 0.1, () => 0), 90);
  t.is(Math.round(jitter(100, 0.1, () => 1)), 110);
});
