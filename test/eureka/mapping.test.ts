/** mapping: Eureka registrations ↔ catalog records, validation, status mapping, hashcode, registry deltas (fake clock), XML. */
import test from 'ava';
import { CatalogView } from '../../src/catalog/view.ts';
import type { CheckRec, NodeState, ServiceRec } from '../../src/catalog/model.ts';
import { EurekaInputError, hashcode, serviceName, statusOf, toRegistration, toWire, withOverride } from '../../src/eureka/mapping.ts';
import { EurekaRegistry } from '../../src/eureka/registry.ts';
import { decodeBody, encode, wants } from '../../src/eureka/codec.ts';

const body = (over: Record<string, unknown> = {}) => ({
  instance: {
    instanceId: 'o-1', hostName: 'h1', app: 'orders', ipAddr: '10.0.0.5', vipAddress: 'orders.vip', status: 'UP',
    port: { $: 8080, '@enabled': 'true' }, securePort: { $: 8443, '@enabled': true },
    dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' }, metadata: { 'management.port': '8081', '@class': 'x' }, ...over,
  },
});

test('mapping: a registration is one catalog write: service = app lower-cased, ID, address, port, secure port, vip tag, metadata as Meta', t => {
  const r = toRegistration(body(), 'ORDERS', 'dc1', 1000, undefined, true);
  t.is(r.app, 'ORDERS');
  t.is(r.leaseMs, 90_000);
  const s = r.req.services[0]!;
  t.like(s, { ID: 'o-1', Service: 'orders', Address: '10.0.0.5', Port: 8080, Tags: ['orders.vip'] });
  t.deepEqual(s.TaggedAddresses, { secure: { Address: '10.0.0.5', Port: 8443 } });
  t.is(s.Meta['management.port'], '8081');
  t.false('@class' in s.Meta);
  t.is(r.req.node!.Node, 'h1');
  t.deepEqual(r.req.checks.map(c => [c.check.CheckID, c.status]), [['eureka:o-1', 'passing']]);
  t.is(serviceName('My_App.v2'), 'my-app-v2');
});

test('mapping: Eureka\'s 400s for bad input', t => {
  const bad: [Record<string, unknown>, RegExp, string?][] = [
    [{ instanceId: undefined, hostName: undefined }, /Missing instanceId/],
    [{ hostName: undefined }, /Missing hostname/],
    [{ ipAddr: undefined }, /Missing ip address/],
    [{ app: undefined }, /Missing appName/],
    [{ app: 'billing' }, /Mismatched appName, expecting ORDERS but was BILLING/],
    [{ dataCenterInfo: undefined }, /Missing dataCenterInfo$/],
    [{ dataCenterInfo: { '@class': 'x' } }, /Missing dataCenterInfo Name/],
    [{ port: { $: 70000 } }, /Invalid port/],
    [{ status: 'SLEEPY' }, /Invalid status/],
  ];
  for (const [over, msg] of bad) t.throws(() => toRegistration(body(over), 'ORDERS', 'dc1', 1, undefined, true), { instanceOf: EurekaInputError, message: msg });
  t.throws(() => toRegistration({}, 'ORDERS', 'dc1', 1, undefined, true), { instanceOf: EurekaInputError });
  t.throws(() => toRegistration(null, 'ORDERS', 'dc1', 1, undefined, true), { instanceOf: EurekaInputError });
  // Lenient where eureka-js-client's README is: a bare-number port, no instanceId (hostName), no leaseInfo.
  const r = toRegistration(body({ port: 9000, instanceId: undefined }), 'orders', 'dc1', 1, undefined, true);
  t.is(r.id, 'h1');
  t.is(r.req.services[0]!.Port, 9000);
});

const NODE = { ID: '', Node: 'h1', Address: '10.0.0.5', Datacenter: 'dc1', TaggedAddresses: {}, Meta: { 'external-source': 'eureka' }, CreateIndex: 1, ModifyIndex: 1 };
function state(svc: Omit<ServiceRec, 'CreateIndex' | 'ModifyIndex'>, checks: CheckRec[], idx: number): NodeState {
  return { node: { ...NODE }, services: new Map([[svc.ID, { ...svc, CreateIndex: idx, ModifyIndex: idx }]]), checks: new Map(checks.map(c => [c.CheckID, c])) };
}
function checksOf(r: ReturnType<typeof toRegistration>, idx: number): CheckRec[] {
  return r.req.checks.map(c => ({ ...c.check, Status: c.status, Output: c.output, CreateIndex: idx, ModifyIndex: idx }));
}

test('mapping: status — UP passing, DOWN/STARTING critical, OUT_OF_SERVICE override → maintenance; the instance\'s DOWN beats the override', t => {
  for (const [st, want] of [['UP', 'passing'], ['DOWN', 'critical'], ['STARTING', 'critical'], ['UNKNOWN', 'critical']] as const) {
    t.is(toRegistration(body({ status: st }), 'ORDERS', 'dc1', 1, undefined, true).req.checks[0]!.status, want, st);
  }
  const r = toRegistration(body(), 'ORDERS', 'dc1', 1, undefined, true);
  const svc = { ...r.req.services[0]!, CreateIndex: 1, ModifyIndex: 1 };
  const oos = withOverride(svc, 'OUT_OF_SERVICE');
  const st = state(oos, [], 2);
  const re = toRegistration(body(), 'ORDERS', 'dc1', 1, { node: st.node, service: st.services.get('o-1')!, checks: [] }, true);
  t.is(re.req.services[0]!.Meta.eureka_override, 'OUT_OF_SERVICE', 'the override survives re-registration');
  t.deepEqual(re.req.checks.map(c => [c.check.CheckID, c.status]), [['eureka:o-1', 'passing'], ['_service_maintenance:o-1', 'critical']]);
  const inst = { node: st.node, service: st.services.get('o-1')!, checks: checksOf(re, 2) };
  t.is(statusOf(inst), 'OUT_OF_SERVICE');
  t.like(toWire(inst), { status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE', instanceId: 'o-1', app: 'ORDERS', port: { $: 8080, '@enabled': 'true' } });
  const down = toRegistration(body({ status: 'DOWN' }), 'ORDERS', 'dc1', 1, { node: st.node, service: st.services.get('o-1')!, checks: [] }, true);
  t.is(statusOf({ node: st.node, service: { ...down.req.services[0]!, CreateIndex: 3, ModifyIndex: 3 }, checks: [] }), 'DOWN');
});

test('mapping: a Consul instance is an Eureka instance: passing → UP, otherwise DOWN; hashcode counts statuses', t => {
  const svc: ServiceRec = { ID: 'web1', Service: 'web', Tags: [], Address: '', Meta: {}, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: 1, ModifyIndex: 1 };
  const crit = { Node: 'n', CheckID: 'c', Name: 'c', Status: 'critical', Notes: '', Output: '', ServiceID: 'web1', ServiceName: 'web', ServiceTags: [], Type: '', Interval: '', Timeout: '', ExposedPort: 0, Definition: {}, CreateIndex: 1, ModifyIndex: 1 } as CheckRec;
  const node = { ...NODE, Node: 'n', Meta: {} };
  t.like(toWire({ node, service: svc, checks: [] }), { status: 'UP', app: 'WEB', instanceId: 'n:web1', ipAddr: '10.0.0.5', vipAddress: 'web', metadata: { '@class': 'java.util.Collections$EmptyMap' } });
  t.is(statusOf({ node, service: svc, checks: [crit] }), 'DOWN');
  t.is(statusOf({ node, service: svc, checks: [{ ...crit, Status: 'warning' }] }), 'DOWN');
  t.is(hashcode(['UP', 'DOWN', 'UP', 'UP']), 'DOWN_1_UP_3_');
  t.is(hashcode([]), '');
});

test('registry: delta queue records ADDED, MODIFIED, DELETED and drops entries after the retention (fake clock)', t => {
  let now = 1_000_000;
  const view = new CatalogView();
  const reg = new EurekaRegistry(view, { retentionMs: 180_000, now: () => now });
  const r = toRegistration(body(), 'ORDERS', 'dc1', 1, undefined, true);
  view.putNode('h1', state(r.req.services[0]!, checksOf(r, 5), 5), 5);
  t.is(reg.all().applications.apps__hashcode, 'UP_1_');
  t.is(reg.allJson(), JSON.stringify(reg.all()), 'the per-app JSON cache gives JSON.stringify\'s text');
  const r2 = toRegistration(body({ instanceId: 'o-2', hostName: 'h2', app: 'ORDERS' }), 'ORDERS', 'dc1', 1, undefined, true);
  view.putNode('h2', { ...state(r2.req.services[0]!, checksOf(r2, 8), 8), node: { ...NODE, Node: 'h2' } }, 8);
  t.is(reg.allJson(), JSON.stringify(reg.all()), 'after a change of the app');
  t.is(reg.all().applications.application[0]!.instance.length, 2);
  view.putNode('h2', null, 9);
  t.is(reg.allJson(), JSON.stringify(reg.all()));
  now += 1000;
  const o = withOverride({ ...r.req.services[0]!, CreateIndex: 5, ModifyIndex: 5 }, 'OUT_OF_SERVICE');
  view.putNode('h1', state(o, checksOf(r, 6), 6), 6);
  now += 1000;
  view.putNode('h1', null, 7);
  const d = reg.delta().applications;
  t.deepEqual(d.application[0]!.instance.filter(i => i.instanceId === 'o-1').map(i => i.actionType), ['ADDED', 'MODIFIED', 'DELETED']);
  t.deepEqual(d.application[0]!.instance.filter(i => i.instanceId === 'o-2').map(i => i.actionType), ['ADDED', 'DELETED']);
  t.is(d.apps__hashcode, '', 'the whole registry\'s hashcode (now empty)');
  t.is(reg.all().applications.application.length, 0);
  now += 179_000;
  t.is(reg.delta().applications.application[0]!.instance.length, 2, 'the ADDED entry aged out');
  now += 10_000;
  t.deepEqual(reg.delta().applications.application, []);
});

test('codec: XML both ways in the JSON shape ($ = text, @x = attribute); Accept decides the format', t => {
  const xml = '<instance><instanceId>x-1</instanceId><hostName>h</hostName><app>ORDERS</app><ipAddr>10.0.0.9</ipAddr><port enabled="true">8080</port>'
    + '<dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"><name>MyOwn</name></dataCenterInfo><metadata><a.b>c</a.b></metadata></instance>';
  const v = decodeBody(Buffer.from(xml), 'application/xml');
  const r = toRegistration(v, 'orders', 'dc1', 1, undefined, true);
  t.like(r.req.services[0], { ID: 'x-1', Port: 8080, Address: '10.0.0.9', Service: 'orders' });
  t.is(r.req.services[0]!.Meta['a.b'], 'c');
  const out = encode({ instance: { port: { $: 8080, '@enabled': 'true' }, metadata: { '@class': 'java.util.Collections$EmptyMap' } } }, 'xml');
  t.regex(out, /<port enabled="true">8080<\/port>/);
  t.regex(out, /<metadata class="java.util.Collections\$EmptyMap"><\/metadata>/);
  t.is(wants('application/json'), 'json');
  t.is(wants('*/*'), 'xml');
  t.is(wants(undefined), 'xml');
  t.throws(() => decodeBody(Buffer.from('{'), 'application/json'), { instanceOf: EurekaInputError });
  t.throws(() => decodeBody(Buffer.from('<instance><a>'), 'application/xml'), { instanceOf: EurekaInputError });
});
