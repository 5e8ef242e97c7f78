/**
 * Health checks end to end on one real agent (embedded Redis, in-process BullMQ worker): HTTP,
 * TCP, UDP, TTL, alias, thresholds, maintenance, node checks, DeregisterCriticalServiceAfter and
 * the check endpoints. Every status assertion also asks the real `dig` against the agent's DNS.
 */
import test from 'ava';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { startAgent, type TestAgent } from './helpers/agent.ts';
import { dig } from './helpers/dig.ts';
import { dnsA, waitFor } from '../test/checks/helpers.ts';

let agent: TestAgent;
let target: Server;
let targetUrl = '';
/** Per-path behaviour of the HTTP target: a status code or 'hang'. */
const mode = new Map<string, number | 'hang'>();
/** Per-path time the target first answered with each code. */
const firstAnswer = new Map<string, number>();

test.before(async () => {
  agent = await startAgent(null, { env: { ROSTER_CHECK_REAP_INTERVAL: '200ms', ROSTER_CHECK_DEREGISTER_MIN: '0s' } });
  let counter = 0;
  target = createServer((req, res) => {
    if (req.url === '/counter') { res.writeHead(200); res.end(`hit ${++counter}`); return; }
    const m = mode.get(req.url!) ?? 200;
    if (m === 'hang') return;
    const k = `${req.url} ${m}`;
    if (!firstAnswer.has(k)) firstAnswer.set(k, Date.now());
    res.writeHead(m);
    res.end(`mode ${m}`);
  });
  await new Promise<void>(r => target.listen(0, '127.0.0.1', r));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
});
test.after.always(async () => {
  target?.closeAllConnections();
  target?.close();
  await agent?.stop();
});

const check = async (svc: string) => (await agent.req('GET', `/v1/health/checks/${svc}`)).json as { CheckID: string; Status: string; Output: string; Notes: string }[];
const statusOf = async (svc: string) => (await check(svc))[0]?.Status;
const inDns = async (svc: string) => (await dig(agent.dnsPort, `${svc}.service.consul`, 'A')).answer.length > 0;
const register = async (body: unknown) => { const r = await agent.req('PUT', '/v1/agent/service/register', body); if (r.status !== 200) throw new Error(r.text); };

test('checks-agent: HTTP target flipping 200 → 429 → 500 → hang → 200; DNS follows within 100 ms of the result', async t => {
  await register({ Name: 'web-http', Port: 80, Check: { HTTP: `${targetUrl}/h1`, Interval: '1s', Timeout: '500ms' } });
  await waitFor(async () => (await statusOf('web-http')) === 'passing', 4000);
  t.true(await inDns('web-http'));
  t.regex((await check('web-http'))[0]!.Output, /^HTTP GET http:\/\/127\.0\.0\.1:\d+\/h1: 200 OK Output: mode 200$/);

  mode.set('/h1', 429);
  await waitFor(async () => (await statusOf('web-http')) === 'warning', 3000);
  t.true(await inDns('web-http'), 'warning stays in DNS');
  t.is((await agent.req('GET', '/v1/health/service/web-http?passing')).json.length, 0, '?passing drops warning');

  mode.set('/h1', 500);
  const gone = await waitFor(async () => !(await dnsA(agent.dnsPort, 'web-http.service.consul')), 3000, 2);
  const lag = gone - firstAnswer.get('/h1 500')!;
  t.log(`target answered 500 → instance left the DNS answer after ${lag} ms`);
  t.true(lag < 100, `failure reached DNS in ${lag} ms`);
  t.is(await statusOf('web-http'), 'critical');
  t.false(await inDns('web-http'));

  mode.set('/h1', 200);
  await waitFor(async () => (await statusOf('web-http')) === 'passing', 3000);
  mode.set('/h1', 'hang');
  await waitFor(async () => (await statusOf('web-http')) === 'critical', 4000);
  t.regex((await check('web-http'))[0]!.Output, /context deadline exceeded/);
  t.false(await inDns('web-http'));
  mode.set('/h1', 200);
  await waitFor(async () => await inDns('web-http'), 4000);
});

test('checks-agent: identical results write nothing; output-only changes wait for check_update_interval', async t => {
  await register({ Name: 'quiet', Port: 80, Check: { HTTP: `${targetUrl}/h-quiet`, Interval: '1s', Timeout: '500ms' } });
  await register({ Name: 'chatty', Port: 80, Check: { HTTP: `${targetUrl}/counter`, Interval: '1s', Timeout: '500ms' } });
  await waitFor(async () => (await statusOf('quiet')) === 'passing' && (await statusOf('chatty')) === 'passing', 4000);
  const q1 = await agent.req('GET', '/v1/health/checks/quiet');
  const c1 = (await check('chatty'))[0]!;
  await new Promise(r => setTimeout(r, 2500));
  const q2 = await agent.req('GET', '/v1/health/checks/quiet');
  t.is(q2.json[0].ModifyIndex, q1.json[0].ModifyIndex, 'passing → passing with the same output is a no-op');
  t.is(q2.headers.get('x-consul-index'), q1.headers.get('x-consul-index'), 'the service index does not move');
  const c2 = (await check('chatty'))[0]!;
  t.is(c2.Output, c1.Output, 'a new body alone is deferred (check_update_interval, 5 m by default)');
});

test('checks-agent: FailuresBeforeCritical 2 holds the first failure', async t => {
  await register({ Name: 'web-thr', Port: 80, Check: { HTTP: `${targetUrl}/h2`, Interval: '1s', Timeout: '500ms', FailuresBeforeCritical: 2 } });
  await waitFor(async () => (await statusOf('web-thr')) === 'passing', 4000);
  mode.set('/h2', 500);
  const first = await waitFor(() => firstAnswer.has('/h2 500'), 3000);
  await new Promise(r => setTimeout(r, 300));
  t.is(await statusOf('web-thr'), 'passing', 'one failure is below the threshold');
  t.true(await inDns('web-thr'));
  await waitFor(async () => (await statusOf('web-thr')) === 'critical', 3000);
  t.true(Date.now() - first > 700, 'critical only after the second failure');
  t.false(await inDns('web-thr'));
});

test('checks-agent: TCP listener that opens and closes', async t => {
  const listen = (port = 0) => new Promise<TcpServer>(r => { const s = createTcpServer(c => c.destroy()); s.listen(port, '127.0.0.1', () => r(s)); });
  let srv = await listen();
  const port = (srv.address() as AddressInfo).port;
  await register({ Name: 'db-tcp', Port: port, Check: { TCP: `127.0.0.1:${port}`, Interval: '1s', Timeout: '500ms' } });
  await waitFor(async () => (await statusOf('db-tcp')) === 'passing', 4000);
  t.is((await check('db-tcp'))[0]!.Output, `TCP connect 127.0.0.1:${port}: Success`);
  t.true(await inDns('db-tcp'));
  await new Promise(r => srv.close(r));
  await waitFor(async () => (await statusOf('db-tcp')) === 'critical', 3000);
  t.is((await check('db-tcp'))[0]!.Output, `dial tcp 127.0.0.1:${port}: connect: connection refused`);
  t.false(await inDns('db-tcp'));
  srv = await listen(port);
  await waitFor(async () => await inDns('db-tcp'), 3000);
  await new Promise(r => srv.close(r));
  t.pass();
});

test('checks-agent: UDP echo passes, a closed port (ICMP unreachable) is critical', async t => {
  const echo = createSocket('udp4');
  echo.on('message', (m, ri) => echo.send(m, ri.port, ri.address));
  await new Promise<void>(r => echo.bind(0, '127.0.0.1', r));
  const port = echo.address().port;
  await register({ Name: 'dns-udp', Port: port, Check: { UDP: `127.0.0.1:${port}`, Interval: '1s', Timeout: '500ms' } });
  await waitFor(async () => (await statusOf('dns-udp')) === 'passing', 4000);
  t.is((await check('dns-udp'))[0]!.Output, `UDP connect 127.0.0.1:${port}: Success`);
  t.true(await inDns('dns-udp'));
  echo.close();
  await waitFor(async () => (await statusOf('dns-udp')) === 'critical', 3000);
  t.false(await inDns('dns-udp'));
});

test('checks-agent: TTL heartbeats that stop; alias check mirrors the aliased service', async t => {
  await register({ Name: 'api-ttl', ID: 'api-ttl', Port: 81, Check: { CheckID: 'api-ttl-hb', TTL: '1s' } });
  await register({ Name: 'api-front', Port: 82, Check: { CheckID: 'api-alias', AliasService: 'api-ttl' } });
  const beat = setInterval(() => void agent.req('PUT', '/v1/agent/check/pass/api-ttl-hb?note=alive'), 300);
  await waitFor(async () => (await statusOf('api-ttl')) === 'passing' && (await statusOf('api-front')) === 'passing', 3000);
  t.true(await inDns('api-ttl'));
  t.true(await inDns('api-front'));
  t.is((await check('api-front'))[0]!.Output, 'All checks passing.');
  clearInterval(beat);
  await waitFor(async () => (await statusOf('api-ttl')) === 'critical', 3000);
  t.is((await check('api-ttl'))[0]!.Output, 'TTL expired (last output before timeout follows): alive');
  await waitFor(async () => (await statusOf('api-front')) === 'critical', 2000);
  t.regex((await check('api-front'))[0]!.Output, /^Aliased check "Service 'api-ttl' check" failing: TTL expired \(last output before timeout follows\): alive$/);
  t.false(await inDns('api-ttl'));
  t.false(await inDns('api-front'));
});

test('checks-agent: check endpoints: register/update/deregister with Consul errors; health reads and blocking', async t => {
  await register({ Name: 'ep', Port: 83 });
  let r = await agent.req('PUT', '/v1/agent/check/register', { CheckID: 'x', Name: 'x', TTL: '10s' });
  t.is(r.status, 400);
  t.is(r.text, 'Request decode failed: json: unknown field "CheckID"');
  r = await agent.req('PUT', '/v1/agent/check/register', { TTL: '10s' });
  t.deepEqual([r.status, r.text], [400, 'Missing check name']);
  r = await agent.req('PUT', '/v1/agent/check/register', { Name: 'x', TTL: '10s', ServiceID: 'nope' });
  t.deepEqual([r.status, r.text], [404, 'ServiceID "nope" does not exist']);
  r = await agent.req('PUT', '/v1/agent/check/register', { Name: 'x', HTTP: 'http://x' });
  t.deepEqual([r.status, r.text], [400, 'Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP or UDP checks']);
  r = await agent.req('PUT', '/v1/agent/check/register', { ID: 'ep-ttl', Name: 'ep ttl', TTL: '30s', ServiceID: 'ep' });
  t.is(r.status, 200);
  const before = await agent.req('GET', '/v1/health/checks/ep');
  t.is(before.json[0].CheckID, 'ep-ttl');
  t.is(before.json[0].Status, 'critical');
  t.is(before.json[0].Interval, '0s');
  t.truthy(before.headers.get('x-consul-index'));
  t.is(before.headers.get('x-consul-effective-consistency'), 'leader');
  t.false(await inDns('ep'));
  // a blocking query on the service wakes on the check update
  const idx = before.headers.get('x-consul-index');
  const blocked = agent.req('GET', `/v1/health/checks/ep?index=${idx}&wait=5s`);
  await new Promise(res => setTimeout(res, 200));
  r = await agent.req('PUT', '/v1/agent/check/update/ep-ttl', { Status: 'bogus' });
  t.deepEqual([r.status, r.text], [400, "Invalid check status: 'bogus'"]);
  r = await agent.req('PUT', '/v1/agent/check/update/ep-ttl', { Status: 'passing', Output: 'fine' });
  t.is(r.status, 200);
  const woke = await blocked;
  t.is(woke.json[0].Status, 'passing');
  t.is(woke.json[0].Output, 'fine');
  t.true(Number(woke.headers.get('x-consul-index')) > Number(idx));
  t.true(await inDns('ep'));
  const node = await agent.req('GET', `/v1/health/node/${agent.node}`);
  t.true(node.json.some((c: { CheckID: string }) => c.CheckID === 'serfHealth'));
  t.true(node.json.some((c: { CheckID: string }) => c.CheckID === 'ep-ttl'));
  t.is((await agent.req('GET', '/v1/health/node/unknown-node')).json.length, 0);
  const passing = await agent.req('GET', '/v1/health/state/passing');
  t.true(passing.json.some((c: { CheckID: string }) => c.CheckID === 'ep-ttl'));
  t.true(passing.json.every((c: { Status: string }) => c.Status === 'passing'));
  t.deepEqual((await agent.req('GET', '/v1/health/state/bogus')).json, []);
  t.is((await agent.req('GET', '/v1/health/state/any?dc=other')).status, 500);
  t.is((await agent.req('GET', '/v1/health/state/any?node-meta=no:such')).json.length, 0);
  r = await agent.req('PUT', '/v1/agent/check/deregister/ep-ttl');
  t.is(r.status, 200);
  r = await agent.req('PUT', '/v1/agent/check/deregister/ep-ttl');
  t.deepEqual([r.status, r.text], [404, 'Unknown check ID "ep-ttl". Ensure that the check ID is passed, not the check name.']);
  t.true(await inDns('ep'), 'without checks the instance is passing');
});

test('checks-agent: service maintenance mode', async t => {
  await register({ Name: 'maint', ID: 'maint-1', Port: 84 });
  t.true(await inDns('maint'));
  let r = await agent.req('PUT', '/v1/agent/service/maintenance/maint-1');
  t.deepEqual([r.status, r.text], [400, 'Missing value for enable']);
  r = await agent.req('PUT', '/v1/agent/service/maintenance/maint-1?enable=maybe');
  t.deepEqual([r.status, r.text], [400, 'Invalid value for enable: "maybe"']);
  r = await agent.req('PUT', '/v1/agent/service/maintenance/nope?enable=true');
  t.deepEqual([r.status, r.text], [404, 'No service registered with ID "nope"']);
  r = await agent.req('PUT', '/v1/agent/service/maintenance/maint-1?enable=True&reason=upgrading');
  t.is(r.status, 200);
  const c = (await check('maint')).find(x => x.CheckID === '_service_maintenance:maint-1')!;
  t.like(c, { Status: 'critical', Notes: 'upgrading', Name: 'Service Maintenance Mode', ServiceID: 'maint-1', Type: 'maintenance' } as object);
  t.false(await inDns('maint'));
  await agent.req('PUT', '/v1/agent/service/maintenance/maint-1?enable=false');
  t.is((await check('maint')).length, 0);
  t.true(await inDns('maint'));
  await agent.req('PUT', '/v1/agent/service/maintenance/maint-1?enable=1');
  t.is((await check('maint'))[0]!.Notes, 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.');
  await agent.req('PUT', '/v1/agent/service/maintenance/maint-1?enable=0');
});

test('checks-agent: DeregisterCriticalServiceAfter deregisters a service that stays critical', async t => {
  await register({ Name: 'doomed', Port: 85, Check: { CheckID: 'doomed-ttl', TTL: '30s', DeregisterCriticalServiceAfter: '1s' } });
  await register({ Name: 'kept', Port: 86, Check: { CheckID: 'kept-ttl', TTL: '30s', Status: 'passing', DeregisterCriticalServiceAfter: '1s' } });
  t.is((await agent.req('GET', '/v1/catalog/service/doomed')).json.length, 1);
  const t0 = Date.now();
  await waitFor(async () => (await agent.req('GET', '/v1/catalog/service/doomed')).json.length === 0, 4000);
  t.true(Date.now() - t0 >= 700, 'not before the timeout');
  t.false(await inDns('doomed'));
  t.is((await agent.req('GET', '/v1/agent/service/doomed')).status, 404);
  t.is((await agent.req('GET', '/v1/catalog/service/kept')).json.length, 1, 'a passing service is kept');
});

// Node-wide tests change every instance on the node, so they run alone, first.
test.serial('checks-agent: a critical node check (and node maintenance) removes every service on the node from DNS', async t => {
  await register({ Name: 'nodewide', Port: 87 });
  t.true(await inDns('nodewide'));
  t.true(await inDns('consul'));
  let r = await agent.req('PUT', '/v1/agent/check/register', { ID: 'node-ttl', Name: 'node ttl', TTL: '30s', Status: 'critical' });
  t.is(r.status, 200);
  t.false(await inDns('nodewide'));
  t.false(await inDns('consul'));
  t.is((await agent.req('GET', '/v1/health/service/nodewide')).json[0].Checks.length, 2, 'node checks are part of every entry');
  await agent.req('PUT', '/v1/agent/check/pass/node-ttl');
  t.true(await inDns('nodewide'));
  r = await agent.req('PUT', '/v1/agent/maintenance');
  t.deepEqual([r.status, r.text], [400, 'Missing value for enable']);
  r = await agent.req('PUT', '/v1/agent/maintenance?enable=true');
  t.is(r.status, 200);
  const nc = (await agent.req('GET', `/v1/health/node/${agent.node}`)).json.find((c: { CheckID: string }) => c.CheckID === '_node_maintenance');
  t.like(nc, { Status: 'critical', Name: 'Node Maintenance Mode', Notes: 'Maintenance mode is enabled for this node, but no reason was provided. This is a default message.' });
  t.false(await inDns('nodewide'));
  t.false(await inDns('consul'));
  await agent.req('PUT', '/v1/agent/maintenance?enable=false');
  t.true(await inDns('nodewide'));
  await agent.req('PUT', '/v1/agent/check/deregister/node-ttl');
});
