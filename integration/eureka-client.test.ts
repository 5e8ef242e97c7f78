/**
 * npm `eureka-js-client` (4.5.0) against real agents sharing one real Redis: two apps register on
 * different agents and base paths (`/eureka/v2/apps/`, `/eureka/apps/`), heartbeat every second and
 * find each other by app id and vip address; a Consul-registered service is an Eureka app; a second
 * instance arrives through the delta fetch (`shouldUseDelta`); the Eureka instances resolve through
 * `dig` and /v1/catalog/service; `stop()` deregisters.
 */
import test from 'ava';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type TestAgent } from './helpers/agent.ts';
import { testRedis } from './helpers/redis.ts';
import { dig } from './helpers/dig.ts';
import { until } from './helpers/wait.ts';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const { Eureka } = require('eureka-js-client') as { Eureka: new (o: unknown) => any };

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
let a: TestAgent;
let b: TestAgent;
let stopRedis: () => Promise<unknown> = async () => {};
test.after.always(async () => { await a?.stop(); await b?.stop(); await stopRedis(); });
test.before(async () => {
  const r = await testRedis();
  stopRedis = () => r.stop();
  const dir = mkdtempSync(join(tmpdir(), 'roster-eureka-'));
  const cfg = join(dir, 'eureka.json');
  writeFileSync(cfg, JSON.stringify({ eureka: { eviction_interval: '1s', expected_client_renewal_interval: '1s', renewal_rate_window: '5s' } }));
  a = await startAgent(null, { node: 'ea', redis: r.url, args: ['-config-file', cfg] });
  b = await startAgent(null, { node: 'eb', redis: r.url, args: ['-config-file', cfg] });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function client(agent: TestAgent, servicePath: string, app: string, id: string, ip: string, port: number, extra: Record<string, unknown> = {}): any {
  return new Eureka({
    cwd: mkdtempSync(join(tmpdir(), 'eureka-cwd-')), logger: quiet, ...extra,
    instance: {
      app, instanceId: id, hostName: `${id}-host`, ipAddr: ip, port: { $: port, '@enabled': true }, vipAddress: `${app}.vip`,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: 1, durationInSecs: 5 }, metadata: { 'management.port': String(port + 1) },
    },
    eureka: { host: '127.0.0.1', port: agent.httpPort, servicePath, heartbeatInterval: 1000, registryFetchInterval: 500, maxRetries: 0, requestRetryDelay: 50 },
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const start = (c: any) => new Promise<void>((res, rej) => c.start((err: Error | null) => (err ? rej(err) : res())));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const stop = (c: any) => new Promise<void>(res => c.stop(() => res()));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const events = (c: any, name: string) => { const n = { count: 0 }; c.on(name, () => n.count++); return n; };

test.serial('eureka-js-client: two apps on two agents and both base paths find each other; Consul service as an app; dig and catalog see them; stop() deregisters', async t => {
  const orders = client(a, '/eureka/v2/apps/', 'orders', 'orders-1', '127.0.0.61', 8080);
  const billing = client(b, '/eureka/apps/', 'billing', 'billing-1', '127.0.0.62', 9090);
  const hb = events(orders, 'heartbeat');
  const hbB = events(billing, 'heartbeat');
  await a.req('PUT', '/v1/agent/service/register', { Name: 'legacy', ID: 'legacy-1', Port: 7070, Address: '127.0.0.63' });
  await start(orders);
  await start(billing);
  try {
    // Registered on agent a, found through agent b (and the other way round).
    await until('billing sees ORDERS', async () => billing.getInstancesByAppId('ORDERS').length === 1, 10_000);
    await until('orders sees BILLING', async () => orders.getInstancesByAppId('BILLING').length === 1, 10_000);
    t.is(orders.getInstancesByVipAddress('billing.vip')[0].ipAddr, '127.0.0.62');
    t.is(billing.getInstancesByVipAddress('orders.vip')[0].port.$, 8080);
    // A Consul registration is an Eureka app (vipAddress = service name).
    await until('LEGACY as an app', async () => orders.getInstancesByAppId('LEGACY').length === 1, 10_000);
    t.is(orders.getInstancesByVipAddress('legacy')[0].ipAddr, '127.0.0.63');
    // Heartbeats every second, and the 5 s lease holds beyond its duration.
    await until('heartbeats', async () => hb.count >= 6 && hbB.count >= 6, 15_000);
    t.is(billing.getInstancesByAppId('ORDERS').length, 1);
    // dig and Consul's catalog see the Eureka instances.
    const srv = await dig(b.dnsPort, 'orders.service.consul', 'SRV');
    t.regex(srv.answer.map(x => x.data).join(), / 8080 /);
    t.deepEqual((await dig(a.dnsPort, 'billing.service.consul', 'A')).answer.map(x => x.data), ['127.0.0.62']);
    t.deepEqual((await dig(a.dnsPort, 'billing.vip.billing.service.consul', 'A')).answer.map(x => x.data), ['127.0.0.62']);
    const cat = (await b.req('GET', '/v1/catalog/service/orders')).json as { ServiceID: string; ServicePort: number; ServiceAddress: string; ServiceMeta: Record<string, string>; ServiceTags: string[] }[];
    t.is(cat.length, 1);
    t.like(cat[0], { ServiceID: 'orders-1', ServicePort: 8080, ServiceAddress: '127.0.0.61' });
    t.is(cat[0]!.ServiceMeta['management.port'], '8081');
    t.deepEqual(cat[0]!.ServiceTags, ['orders.vip']);
    t.is(((await a.req('GET', '/v1/health/service/orders?passing')).json as unknown[]).length, 1);
    // One registry: orders-1 registered on agent a renews on agent b (leases are in the shared Redis).
    t.is((await b.req('PUT', '/eureka/apps/ORDERS/orders-1')).status, 200);
    t.is((await b.req('PUT', '/eureka/apps/ORDERS/nobody')).status, 404);
  } finally {
    await stop(orders);
  }
  // stop() deregisters: gone from the other agent's catalog, DNS and the other client's registry.
  t.deepEqual((await b.req('GET', '/v1/catalog/service/orders')).json, []);
  await until('ORDERS gone from billing\'s cache', async () => billing.getInstancesByAppId('ORDERS').length === 0, 10_000);
  t.is((await dig(b.dnsPort, 'orders.service.consul', 'A')).status, 'NXDOMAIN');
  t.is((await a.req('DELETE', '/eureka/v2/apps/ORDERS/orders-1')).status, 404);
  await stop(billing);
  await a.req('PUT', '/v1/agent/service/deregister/legacy-1');
});

test.serial('eureka-js-client: a second instance arrives through the delta fetch (shouldUseDelta), and its cancel too', async t => {
  const watcher = client(a, '/eureka/v2/apps/', 'watcher', 'watcher-1', '127.0.0.71', 8000, { shouldUseDelta: true });
  const first = client(b, '/eureka/apps', 'pay', 'pay-1', '127.0.0.72', 8001);
  await start(first);
  await start(watcher);
  const second = client(b, '/eureka/apps/', 'pay', 'pay-2', '127.0.0.73', 8002);
  try {
    await until('full registry', async () => watcher.hasFullRegistry && watcher.getInstancesByAppId('PAY').length === 1, 10_000);
    let fulls = 0;
    watcher.on('registryUpdated', () => fulls++);
    await start(second);
    await until('pay-2 through the delta', async () => watcher.getInstancesByAppId('PAY').length === 2, 10_000);
    t.is(fulls, 0, 'no full fetch after the first: the instance came through /apps/delta');
    const raw = await fetch(`${a.http}/eureka/v2/apps/delta`, { headers: { Accept: 'application/json' } }).then(r => r.json()) as { applications: { apps__hashcode: string; application: { name: string; instance: { instanceId: string; actionType: string }[] }[] } };
    const pay = raw.applications.application.find(x => x.name === 'PAY')!;
    t.true(pay.instance.some(i => i.instanceId === 'pay-2' && i.actionType === 'ADDED'));
    const full = await fetch(`${a.http}/eureka/v2/apps`, { headers: { Accept: 'application/json' } }).then(r => r.json()) as { applications: { apps__hashcode: string } };
    t.is(raw.applications.apps__hashcode, full.applications.apps__hashcode);
    await stop(second);
    await until('pay-2 deleted through the delta', async () => watcher.getInstancesByAppId('PAY').length === 1, 10_000);
  } finally {
    await stop(second);
    await stop(first);
    await stop(watcher);
  }
});
