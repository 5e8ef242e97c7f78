/**
 * The first slice end to end: a real `roster agent -dev` with its embedded redis-server,
 * registrations through HTTP, answers through real `dig`.
 */
import test from 'ava';
import { startAgent } from './helpers/agent.ts';
import { dig } from './helpers/dig.ts';
import { readFileSync } from 'node:fs';
import { waitFor } from '../test/helpers/wait.ts';

/** The process is gone (or a zombie nobody reaped yet). */
function gone(pid: number): boolean {
  try { return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return true; }
}

const until = async (fn: () => Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await fn()) return true; await new Promise(r => setTimeout(r, 25)); }
  return false;
};

test('agent: README quick start — two instances, SRV with glue, tag filter, catalog JSON', async t => {
  const a = await startAgent(t);
  t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web1', Port: 8080, Address: '127.0.0.2', Tags: ['v1'] })).status, 200);
  t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web2', Port: 8081, Address: '127.0.0.3' })).status, 200);

  const srv = await dig(a.dnsPort, 'web.service.consul', 'SRV');
  t.is(srv.status, 'NOERROR');
  t.true(srv.flags.includes('aa'));
  t.deepEqual(srv.answer.map(r => r.data.split(' ').slice(0, 3).join(' ')).sort(), ['1 1 8080', '1 1 8081']);
  const targets = srv.answer.map(r => r.data.split(' ')[3]).sort();
  t.deepEqual(targets, ['7f000002.addr.dc1.consul.', '7f000003.addr.dc1.consul.']);
  t.deepEqual(srv.additional.filter(r => r.type === 'A').map(r => `${r.name} ${r.data}`).sort(), ['7f000002.addr.dc1.consul. 127.0.0.2', '7f000003.addr.dc1.consul. 127.0.0.3']);

  const tagged = await dig(a.dnsPort, 'v1.web.service.consul', 'A');
  t.deepEqual(tagged.answer.map(r => r.data), ['127.0.0.2']);
  const rfc = await dig(a.dnsPort, '_web._v1.service.consul', 'SRV');
  t.deepEqual(rfc.answer.map(r => r.data.split(' ')[2]), ['8080']);

  const cat = await a.req('GET', '/v1/catalog/service/web');
  t.is(cat.status, 200);
  t.is(cat.headers.get('content-type'), 'application/json');
  t.true(Number(cat.headers.get('x-consul-index')) >= 1);
  t.deepEqual(Object.keys(cat.json[0]), ['ID', 'Node', 'Address', 'Datacenter', 'TaggedAddresses', 'NodeMeta', 'ServiceKind', 'ServiceID', 'ServiceName', 'ServiceTags', 'ServiceAddress', 'ServiceTaggedAddresses', 'ServiceWeights', 'ServiceMeta', 'ServicePort', 'ServiceSocketPath', 'ServiceEnableTagOverride', 'ServiceProxy', 'ServiceConnect', 'ServicePeerName', 'CreateIndex', 'ModifyIndex']);
  t.deepEqual(cat.json.map((e: any) => e.ServiceID), ['web1', 'web2']);
  t.deepEqual((await a.req('GET', '/v1/catalog/service/web?tag=v1')).json.map((e: any) => e.ServiceID), ['web1']);

  // ?filter (go-bexpr) on the health reads of checks.
  const st = (await a.req('GET', '/v1/health/state/any?filter=' + encodeURIComponent('CheckID == "serfHealth"'))).json;
  t.deepEqual(st.map((c: any) => c.CheckID), ['serfHealth']);
  t.is((await a.req('GET', '/v1/health/node/' + a.node + '?filter=' + encodeURIComponent('Status != "passing"'))).json.length, 0);
  t.is((await a.req('GET', '/v1/health/state/any?filter=' + encodeURIComponent('CheckID =='))).status, 500);

  const nx = await dig(a.dnsPort, 'nope.service.consul', 'A');
  t.is(nx.status, 'NXDOMAIN');
  t.is(nx.authority[0]?.type, 'SOA');
  const node = await dig(a.dnsPort, `${a.node}.node.consul`, 'A');
  t.deepEqual(node.answer.map(r => r.data), ['127.0.0.1']);
  const upper = await dig(a.dnsPort, 'WEB.Service.CONSUL', 'A');
  t.is(upper.answer.length, 2);
});

test('agent: bad input gets Consul\'s 400 messages and nothing is half-written', async t => {
  const a = await startAgent(t);
  const cases: [unknown, string][] = [
    ['{not json', 'Request decode failed'],
    [{ Name: 'web', Bogus: 1 }, 'Request decode failed: json: unknown field "Bogus"'],
    [{ Port: 80 }, 'Missing service name'],
    [{ Name: 'web', Port: 70000 }, 'Invalid service port 70000'],
    [{ Name: 'web', ID: 'w9', Checks: [{ TTL: '10s' }, { HTTP: 'http://127.0.0.1:1/' }] }, 'Invalid check: Interval must be > 0'],
  ];
  for (const [body, msg] of cases) {
    const r = await a.req('PUT', '/v1/agent/service/register', body);
    t.is(r.status, 400, JSON.stringify(body));
    t.true(r.text.startsWith(msg), r.text);
    t.regex(r.headers.get('content-type') ?? '', /^text\/plain/);
  }
  // The invalid second check must not leave the service half-registered.
  t.false('w9' in (await a.req('GET', '/v1/agent/services')).json);
  // A name DNS cannot carry is accepted and logged as not discoverable.
  t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'my_svc.v2', Port: 1 })).status, 200);
  t.true('my_svc.v2' in (await a.req('GET', '/v1/agent/services')).json);
  t.regex(a.log(), /will not be discoverable via DNS/);
  t.is((await a.req('DELETE', '/v1/agent/service/register')).status, 405);
  t.is((await a.req('GET', '/v1/nope')).text, 'Invalid URL path: not a recognized HTTP API endpoint\n');
  t.is((await a.req('PUT', '/v1/agent/service/deregister/nope')).status, 404);
});

test('agent: a TTL check starts critical, passes on heartbeat, and expires out of DNS within a second of its deadline', async t => {
  const a = await startAgent(t);
  await a.req('PUT', '/v1/agent/service/register', { Name: 'api', ID: 'api1', Port: 9000, Address: '127.0.0.9', Check: { TTL: '2s' } });
  t.is((await dig(a.dnsPort, 'api.service.consul', 'A')).status, 'NXDOMAIN');
  const h = (await a.req('GET', '/v1/health/service/api')).json;
  t.is(h[0].Checks.find((c: any) => c.CheckID === 'service:api1').Status, 'critical');
  t.is((await a.req('PUT', '/v1/agent/check/pass/service:api1?note=alive')).status, 200);
  const passedAt = Date.now();
  t.deepEqual((await dig(a.dnsPort, 'api.service.consul', 'A')).answer.map(r => r.data), ['127.0.0.9']);
  const c = (await a.req('GET', '/v1/agent/checks')).json['service:api1'];
  t.is(c.Status, 'passing');
  t.is(c.Output, 'alive');
  t.true(await until(async () => (await dig(a.dnsPort, 'api.service.consul', 'A')).status === 'NXDOMAIN', 6000));
  const gone = Date.now() - passedAt;
  t.true(gone >= 1900 && gone <= 3000, `left DNS ${gone} ms after the last heartbeat (TTL 2 s)`);
  t.is((await a.req('GET', '/v1/agent/checks')).json['service:api1'].Output, 'TTL expired (last output before timeout follows): alive');
});

test('agent: SIGKILL loses no registration, its embedded redis-server stops with it, and the restarted agent serves the registration from the same data dir', async t => {
  const a = await startAgent(t);
  await a.req('PUT', '/v1/agent/service/register', { Name: 'db', ID: 'db1', Port: 5432, Address: '127.0.0.5' });
  const redisPid = Number(/embedded redis-server started .*pid=(\d+)/.exec(a.log())?.[1]);
  t.true(redisPid > 0 && !gone(redisPid), 'the embedded redis-server runs');
  await a.stop('SIGKILL');
  // setpriv --pdeathsig TERM: the orphan gets SIGTERM (flushes its AOF and exits) instead of running on.
  await waitFor(() => gone(redisPid), 10_000, { what: 'the embedded redis-server to stop' });
  const b = await startAgent(t, { dataDir: a.dataDir, node: a.node });
  t.true('db1' in (await b.req('GET', '/v1/agent/services')).json);
  t.deepEqual((await dig(b.dnsPort, 'db.service.consul', 'A')).answer.map(r => r.data), ['127.0.0.5']);
  t.is(await b.stop('SIGINT'), 0);
  t.notRegex(b.log(), /ERROR/);
});

test('agent: a DNS port that cannot be bound is a start-up error (non-zero exit naming the port), not an agent without DNS', async t => {
  const { createSocket } = await import('node:dgram');
  const { spawn } = await import('node:child_process');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { ROSTER } = await import('./helpers/agent.ts');
  const { freePort } = await import('../src/store/embedded-redis.ts');
  const taken = createSocket('udp4');
  await new Promise<void>(r => taken.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => taken.close());
  const port = taken.address().port;
  const args = ['agent', '-dev', '-dns-port', String(port), '-http-port', String(await freePort()), '-serf-lan-port', String(await freePort()), '-serf-wan-port', '-1', '-data-dir', mkdtempSync(join(tmpdir(), 'roster-agent-'))];
  const proc = spawn(ROSTER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', d => { out += String(d); });
  proc.stderr!.on('data', d => { out += String(d); });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>(r => proc.once('exit', c => r(c)));
  clearTimeout(timer);
  t.not(code, 0, out);
  t.not(code, null, `the agent kept running without DNS:\n${out}`);
  t.regex(out, new RegExp(`EADDRINUSE|address already in use|${port}`), out);
});
