/**
 * Anti-entropy (issue 11 item 2): the agent's own node, services and checks come back after
 * being deleted through the catalog API, and agent writes never answer `Missing node registration`.
 */
import test from 'ava';
import { startAgent } from './helpers/agent.ts';
import { testRedis } from './helpers/redis.ts';

const until = async (fn: () => Promise<boolean>, ms = 8000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await fn()) return true; await new Promise(r => setTimeout(r, 50)); }
  return false;
};

test('anti-entropy: a deleted own node comes back with its services and checks, and later agent registrations succeed', async t => {
  const a = await startAgent(t, { args: ['-hcl', 'ae_interval = "2s"'] });
  t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web1', Port: 8080, Check: { TTL: '30s' } })).status, 200);
  t.is((await a.req('PUT', '/v1/agent/check/register', { Name: 'disk', ID: 'disk', TTL: '30s' })).status, 200);
  t.is((await a.req('PUT', '/v1/catalog/deregister', { Node: a.node })).status, 200);
  // A registration right after the deletion is not refused: the agent puts its node back first.
  const r = await a.req('PUT', '/v1/agent/service/register', { Name: 'api', ID: 'api1', Port: 9090 });
  t.is(r.status, 200, r.text);
  t.true(await until(async () => {
    const n = await a.req('GET', `/v1/catalog/node/${a.node}`);
    return n.status === 200 && n.json && ['web1', 'api1', 'consul'].every(id => n.json.Services?.[id]);
  }), 'node and services back in the catalog');
  const checks = (await a.req('GET', `/v1/health/node/${a.node}`)).json.map((c: any) => c.CheckID).sort();
  t.deepEqual(checks, ['disk', 'serfHealth', 'service:web1']);
  t.regex(a.log(), /Synced node info/);
});

test('anti-entropy: a service and a check deleted through the catalog come back; an agent deregistration stays', async t => {
  const a = await startAgent(t, { args: ['-hcl', 'ae_interval = "2s"'] });
  t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web1', Port: 8080, Tags: ['v1'] })).status, 200);
  t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'gone', ID: 'gone1', Port: 8081 })).status, 200);
  t.is((await a.req('PUT', '/v1/agent/check/register', { Name: 'disk', ID: 'disk', TTL: '30s' })).status, 200);
  t.is((await a.req('PUT', '/v1/agent/check/pass/disk?note=fine')).status, 200);
  t.is((await a.req('PUT', '/v1/agent/service/deregister/gone1')).status, 200);
  t.is((await a.req('PUT', '/v1/catalog/deregister', { Node: a.node, ServiceID: 'web1' })).status, 200);
  t.is((await a.req('PUT', '/v1/catalog/deregister', { Node: a.node, CheckID: 'disk' })).status, 200);
  t.true(await until(async () => (await a.req('GET', '/v1/catalog/service/web')).json?.length === 1), 'service back');
  t.true(await until(async () => (await a.req('GET', `/v1/health/node/${a.node}`)).json?.some((c: any) => c.CheckID === 'disk')), 'check back');
  const web = (await a.req('GET', '/v1/catalog/service/web')).json[0];
  t.deepEqual([web.ServiceID, web.ServicePort, web.ServiceTags], ['web1', 8080, ['v1']]);
  const disk = (await a.req('GET', `/v1/health/node/${a.node}`)).json.find((c: any) => c.CheckID === 'disk');
  t.is(disk.Status, 'passing');
  t.is(disk.Output, 'fine');
  // A service changed behind the agent's back through the catalog is put back as the agent registered it.
  t.is((await a.req('PUT', '/v1/catalog/register', { Node: a.node, Address: '127.0.0.1', Service: { ID: 'web1', Service: 'web', Port: 1 } })).status, 200);
  t.true(await until(async () => (await a.req('GET', '/v1/catalog/service/web')).json?.[0]?.ServicePort === 8080), 'definition restored');
  // What the agent itself deregistered stays gone, also across the periodic sync.
  await new Promise(r => setTimeout(r, 4500));
  t.deepEqual((await a.req('GET', '/v1/catalog/service/gone')).json, []);
});

test('anti-entropy: local state survives a restart on the same data dir and is synced at start', async t => {
  const a = await startAgent(t, { args: ['-hcl', 'ae_interval = "2s"'] });
  t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web1', Port: 8080 })).status, 200);
  await new Promise(r => setTimeout(r, 400)); // the snapshot is written 200 ms after the change
  await a.stop('SIGINT'); // graceful leave deregisters the node
  const b = await startAgent(t, { node: a.node, dataDir: a.dataDir, args: ['-hcl', 'ae_interval = "2s"'] });
  t.true(await until(async () => (await b.req('GET', '/v1/catalog/service/web')).json?.length === 1));
});

test('anti-entropy: re-registering a service with a new definition is never undone by a sync racing with the write', async t => {
  const a = await startAgent(t, { args: ['-hcl', 'ae_interval = "1s"'] });
  let wrong = 0;
  for (let port = 1000; port < 1040; port++) {
    t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web1', Port: port, Check: { TTL: '30s' } })).status, 200);
    const now = (await a.req('GET', '/v1/agent/service/web1')).json?.Port;
    if (now !== port) wrong++;
  }
  await new Promise(r => setTimeout(r, 1500));
  t.is((await a.req('GET', '/v1/agent/service/web1')).json?.Port, 1039);
  t.is(wrong, 0, 'every read after a write saw that write');
  // Each agent write logs one `Synced service` (as Consul's agent does); anti-entropy added none of its own.
  t.is(a.log().match(/Synced service service=web1/g)?.length, 40, 'no sync was needed: the agent\'s own writes are its local state');
});

test('anti-entropy: a service reaped by DeregisterCriticalServiceAfter stays gone', async t => {
  const a = await startAgent(t, { args: ['-hcl', 'ae_interval = "1s"'], env: { ROSTER_CHECK_REAP_INTERVAL: '200ms', ROSTER_CHECK_DEREGISTER_MIN: '1s' } });
  t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'doomed', Port: 85, Check: { CheckID: 'doomed-ttl', TTL: '30s', DeregisterCriticalServiceAfter: '1s' } })).status, 200);
  t.true(await until(async () => (await a.req('GET', '/v1/catalog/service/doomed')).json?.length === 0), 'reaped');
  await new Promise(r => setTimeout(r, 2500)); // past two full syncs
  t.deepEqual((await a.req('GET', '/v1/catalog/service/doomed')).json, []);
  // The one line is the registration's own; anti-entropy never wrote the reaped service back.
  t.is(a.log().match(/Synced service service=doomed/g)?.length, 1);
});

test('anti-entropy: PUT /v1/agent/leave deregisters the node for good (the leaving agent stops syncing)', async t => {
  const redis = await testRedis();
  t.teardown(() => redis.stop());
  const a = await startAgent(t, { redis: redis.url, node: 'leaver', args: ['-hcl', 'ae_interval = "1s"'] });
  const b = await startAgent(t, { redis: redis.url, node: 'stayer' });
  t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', Port: 80 })).status, 200);
  t.is((await a.req('PUT', '/v1/agent/leave')).status, 200);
  await new Promise<void>(r => { if (a.proc.exitCode !== null) r(); else a.proc.once('exit', () => r()); });
  const nodes = (await b.req('GET', '/v1/catalog/nodes')).json.map((n: any) => n.Node);
  t.deepEqual(nodes, ['stayer']);
});
