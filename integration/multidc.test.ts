/**
 * Two datacenters, each with its own redis-server and two Roster agents: the WAN pool (joined both
 * ways), `?dc=` forwarding (catalog, health, KV, blocking), DNS for the other datacenter's names,
 * prepared queries failing over to dc2 and back, catch-all templates, and dc2's agents killed with
 * SIGKILL: `?dc=dc2` answers 500 within the deadline, DNS for dc2 within 3 s, dc1 untouched.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, ROSTER, type TestAgent } from './helpers/agent.ts';
import { testRedis } from './helpers/redis.ts';
import { dig } from './helpers/dig.ts';
import { until } from './helpers/wait.ts';

const exec = promisify(execFile);

/** WAN timing shortened (the protocol is unchanged), so failures are seen in seconds. */
function fastWan(): string {
  const f = join(mkdtempSync(join(tmpdir(), 'roster-cfg-')), 'wan.json');
  writeFileSync(f, JSON.stringify({ gossip_wan: { probe_interval: '500ms', probe_timeout: '250ms', gossip_interval: '100ms', suspicion_mult: 3 }, retry_interval_wan: '1s' }));
  return f;
}

interface Fed { a1: TestAgent; a2: TestAgent; b1: TestAgent; b2: TestAgent }
let fed: Fed;
const stops: (() => Promise<unknown>)[] = [];

test.before(async () => {
  const [r1, r2] = await Promise.all([testRedis(), testRedis()]);
  stops.push(() => r1.stop(), () => r2.stop());
  const cfg = fastWan();
  const start = async (node: string, dc: string, redis: string, extra: string[] = []) => {
    const a = await startAgent(null, { node, redis, args: ['-datacenter', dc, '-config-file', cfg, ...extra] });
    stops.push(() => a.stop('SIGKILL'));
    return a;
  };
  const a1 = await start('a1', 'dc1', r1.url);
  const a2 = await start('a2', 'dc1', r1.url, ['-join', `127.0.0.1:${a1.serfPort}`, '-retry-join-wan', `127.0.0.1:${a1.wanPort}`]);
  const b1 = await start('b1', 'dc2', r2.url, ['-retry-join-wan', `127.0.0.1:${a1.wanPort}`]);
  // b2 joins through the HTTP API (?wan=1), in the other direction: to dc1's second agent.
  const b2 = await start('b2', 'dc2', r2.url, ['-join', `127.0.0.1:${b1.serfPort}`]);
  const j = await b2.req('PUT', `/v1/agent/join/127.0.0.1:${a2.wanPort}?wan=1`);
  if (j.status !== 200) throw new Error(`WAN join: ${j.status} ${j.text}`);
  fed = { a1, a2, b1, b2 };
  // Services: web in both (different addresses), api only in dc2 (no address: SRV targets the node).
  for (const [a, addr] of [[a1, '127.0.0.11'], [b1, '127.0.0.21']] as const) {
    const r = await a.req('PUT', '/v1/agent/service/register', { Name: 'web', Tags: ['v2'], Address: addr, Port: 80, Check: { CheckID: 'web-ttl', TTL: '600s', Status: 'passing' } });
    if (r.status !== 200) throw new Error(r.text);
  }
  await b1.req('PUT', '/v1/agent/service/register', { Name: 'api', Port: 8021 });
});

test.after.always(async () => {
  for (const s of stops.reverse()) await s().catch(() => {});
});

const names = async (a: TestAgent) => ((await a.req('GET', '/v1/agent/members?wan=1')).json as { Name: string; Status: number }[]).filter(m => m.Status === 1).map(m => m.Name).sort();

test.serial('wan: every agent sees the four WAN members <node>.<dc>; datacenters are listed local first; roster members -wan', async t => {
  const want = ['a1.dc1', 'a2.dc1', 'b1.dc2', 'b2.dc2'];
  for (const a of Object.values(fed)) await until(`${a.node} sees 4 WAN members`, async () => JSON.stringify(await names(a)) === JSON.stringify(want) || undefined, 20_000);
  const m = ((await fed.a1.req('GET', '/v1/agent/members?wan=1')).json as { Name: string; Tags: Record<string, string> }[]).find(x => x.Name === 'b1.dc2')!;
  t.is(m.Tags.dc, 'dc2');
  t.is(m.Tags.role, 'consul');
  t.is(m.Tags.roster_http, `127.0.0.1:${fed.b1.httpPort}`);
  t.deepEqual((await fed.a1.req('GET', '/v1/agent/members')).json.map((x: { Name: string }) => x.Name).sort(), ['a1', 'a2'], 'the LAN pool is per datacenter');
  t.is((await fed.a1.req('GET', '/v1/agent/members?wan=1&segment=x')).status, 400);
  t.deepEqual((await fed.a1.req('GET', '/v1/catalog/datacenters')).json, ['dc1', 'dc2']);
  t.deepEqual((await fed.b2.req('GET', '/v1/catalog/datacenters')).json, ['dc2', 'dc1']);
  const co = (await fed.a1.req('GET', '/v1/coordinate/datacenters')).json as { Datacenter: string; AreaID: string; Coordinates: { Node: string }[] }[];
  t.deepEqual(co.map(d => [d.Datacenter, d.AreaID, d.Coordinates.map(c => c.Node)]), [['dc1', 'wan', ['a1.dc1', 'a2.dc1']], ['dc2', 'wan', ['b1.dc2', 'b2.dc2']]]);
  const cli = await exec(ROSTER, ['members', '-wan', '-http-addr', `127.0.0.1:${fed.a2.httpPort}`]);
  t.regex(cli.stdout, /b2\.dc2\s+127\.0\.0\.1:\d+\s+alive\s+server/);
  const bad = await fed.a1.req('PUT', '/v1/agent/join/127.0.0.1:1?wan=1');
  t.is(bad.status, 500);
});

test.serial('dc: ?dc=dc2 on catalog, health and KV is answered by dc2 (its data, its index); ?dc=nope is 500 No path; blocking queries pass through', async t => {
  const { a1, b1 } = fed;
  const cat = await a1.req('GET', '/v1/catalog/service/web?dc=dc2');
  t.is(cat.status, 200);
  t.deepEqual(cat.json.map((s: { ServiceAddress: string; Datacenter: string }) => [s.ServiceAddress, s.Datacenter]), [['127.0.0.21', 'dc2']]);
  const h = await a1.req('GET', '/v1/health/service/web?dc=dc2&passing');
  t.is(h.json.length, 1);
  t.is(h.json[0].Node.Node, 'b1');
  t.deepEqual(Object.keys((await a1.req('GET', '/v1/catalog/services?dc=dc2')).json).sort(), ['api', 'consul', 'web']);

  t.is((await a1.req('PUT', '/v1/kv/cfg/color?dc=dc2', 'blue')).status, 200);
  const local = await a1.req('GET', '/v1/kv/cfg/color');
  t.is(local.status, 404, 'not written in dc1');
  const there = await b1.req('GET', '/v1/kv/cfg/color');
  t.is(Buffer.from(there.json[0].Value, 'base64').toString(), 'blue');
  const via = await a1.req('GET', '/v1/kv/cfg/color?dc=dc2');
  t.is(via.headers.get('x-consul-index'), there.headers.get('x-consul-index'));
  t.is((await a1.req('GET', '/v1/kv/cfg/color?dc=dc2&stale')).status, 200);

  // A catalog write naming dc2 in its body goes there (Consul forwards by the body's Datacenter).
  t.is((await a1.req('PUT', '/v1/catalog/register', { Datacenter: 'dc2', Node: 'ext', Address: '10.2.0.9', Service: { Service: 'extsvc' } })).status, 200);
  t.is((await b1.req('GET', '/v1/catalog/service/extsvc')).json.length, 1);
  t.is((await a1.req('GET', '/v1/catalog/service/extsvc')).json.length, 0);
  t.is((await a1.req('PUT', '/v1/catalog/register', { Datacenter: 'nope', Node: 'ext', Address: '10.2.0.9' })).text, 'No path to datacenter');
  // Sessions, transactions and user events go to dc2 too.
  const sess = await a1.req('PUT', '/v1/session/create?dc=dc2', { Node: 'b1', TTL: '30s' });
  t.is(sess.status, 200);
  t.is((await b1.req('GET', `/v1/session/info/${sess.json.ID}`)).json.length, 1);
  t.is((await a1.req('GET', `/v1/session/info/${sess.json.ID}`)).json.length, 0, 'not a dc1 session');
  const txn = await a1.req('PUT', '/v1/txn?dc=dc2', [{ KV: { Verb: 'set', Key: 'tx/k', Value: Buffer.from('v').toString('base64') } }]);
  t.is(txn.status, 200);
  t.is((await b1.req('GET', '/v1/kv/tx/k')).status, 200);
  t.is((await a1.req('PUT', '/v1/event/fire/deploy?dc=dc2', 'v9')).status, 200);
  t.true((await b1.req('GET', '/v1/event/list?name=deploy')).json.length >= 1);
  t.is((await a1.req('GET', '/v1/event/list?name=deploy')).json.length, 0, 'events stay in their datacenter');

  const nope = await a1.req('GET', '/v1/catalog/services?dc=nope');
  t.is(nope.status, 500);
  t.is(nope.text, 'No path to datacenter');
  t.is((await a1.req('PUT', '/v1/kv/x?dc=nope', 'v')).status, 500);

  // A blocking query on dc2's key returns when dc2's key changes.
  const idx = via.headers.get('x-consul-index')!;
  const t0 = Date.now();
  const blocked = a1.req('GET', `/v1/kv/cfg/color?dc=dc2&index=${idx}&wait=20s`);
  await new Promise(r => setTimeout(r, 500));
  await b1.req('PUT', '/v1/kv/cfg/color', 'green');
  const woke = await blocked;
  t.true(Date.now() - t0 < 10_000);
  t.is(Buffer.from(woke.json[0].Value, 'base64').toString(), 'green');
});

test.serial('dns: dc1 answers dc2 names by asking dc2 (A, tag, SRV, RFC 2782, node); unknown datacenter NXDOMAIN', async t => {
  const p = fed.a1.dnsPort;
  t.deepEqual((await dig(p, 'web.service.dc2.consul')).answer.map(r => r.data), ['127.0.0.21']);
  t.deepEqual((await dig(p, 'web.service.dc2.consul', 'A', ['+tcp'])).answer.map(r => r.data), ['127.0.0.21'], 'over TCP too');
  t.deepEqual((await dig(p, 'web.service.consul')).answer.map(r => r.data), ['127.0.0.11']);
  t.deepEqual((await dig(p, 'v2.web.service.dc2.consul')).answer.map(r => r.data), ['127.0.0.21']);
  const srv = await dig(p, 'api.service.dc2.consul', 'SRV');
  t.deepEqual(srv.answer.map(r => r.data), ['1 1 8021 b1.node.dc2.consul.']);
  t.deepEqual((await dig(p, '_web._v2.service.dc2.consul', 'SRV')).answer.map(r => r.data), ['1 1 80 7f000015.addr.dc2.consul.']);
  t.deepEqual((await dig(p, 'b1.node.dc2.consul')).answer.map(r => r.data), ['127.0.0.1']);
  t.is((await dig(p, 'web.service.nope.consul')).status, 'NXDOMAIN');
  t.is((await dig(p, 'nosuch.service.dc2.consul')).status, 'NXDOMAIN');
});

test.serial('query: answers from dc1 while dc1 has a passing instance, fails over to dc2 when it goes critical (execute and DNS), and comes back', async t => {
  const { a1, a2 } = fed;
  const c = await a1.req('POST', '/v1/query', { Name: 'webq', Service: { Service: 'web', Failover: { Datacenters: ['nope', 'dc2'] } }, DNS: { TTL: '7s' } });
  t.is(c.status, 200);
  const exec1 = async () => (await a2.req('GET', '/v1/query/webq/execute')).json as { Service: string; Datacenter: string; Failovers: number; Nodes: { Service: { Address: string } }[]; DNS: { TTL: string } };
  let r = await exec1();
  t.like(r, { Service: 'web', Datacenter: 'dc1', Failovers: 0, DNS: { TTL: '7s' } });
  t.deepEqual(r.Nodes.map(n => n.Service.Address), ['127.0.0.11']);
  const q = await until('a2 has the query for DNS', async () => { const d = await dig(a2.dnsPort, 'webq.query.consul'); return d.answer.length ? d : undefined; });
  t.deepEqual(q.answer.map(x => [x.data, x.ttl]), [['127.0.0.11', 7]]);

  t.is((await a1.req('PUT', '/v1/agent/check/fail/web-ttl')).status, 200);
  r = await until('failover to dc2', async () => { const x = await exec1(); return x.Datacenter === 'dc2' ? x : undefined; });
  t.is(r.Failovers, 1, 'unknown datacenters are skipped');
  t.deepEqual(r.Nodes.map(n => n.Service.Address), ['127.0.0.21']);
  t.deepEqual((await dig(a2.dnsPort, 'webq.query.consul')).answer.map(x => x.data), ['127.0.0.21']);
  t.deepEqual((await dig(a2.dnsPort, 'webq.query.consul', 'SRV')).answer.map(x => x.data), ['1 1 80 7f000015.addr.dc2.consul.']);

  t.is((await a1.req('PUT', '/v1/agent/check/pass/web-ttl')).status, 200);
  r = await until('back to dc1', async () => { const x = await exec1(); return x.Datacenter === 'dc1' ? x : undefined; });
  t.is(r.Failovers, 0);
  t.deepEqual((await dig(a2.dnsPort, 'webq.query.consul')).answer.map(x => x.data), ['127.0.0.11']);

  // NearestN picks the one other datacenter.
  t.is((await a1.req('POST', '/v1/query', { Name: 'apiq', Service: { Service: 'api', Failover: { NearestN: 1 } } })).status, 200);
  t.like((await a1.req('GET', '/v1/query/apiq/execute')).json, { Datacenter: 'dc2', Failovers: 1 });
});

test.serial('query: a catch-all template answers any name, here and in another datacenter', async t => {
  const { a1, b1 } = fed;
  t.is((await b1.req('POST', '/v1/query', { Name: '', Template: { Type: 'name_prefix_match' }, Service: { Service: '${name.full}' } })).status, 200);
  t.is((await a1.req('POST', '/v1/query?dc=dc2', { Name: '', Template: { Type: 'name_prefix_match' }, Service: { Service: '${name.full}' } })).text, 'a query template with an empty name already exists');
  const ex = (await a1.req('GET', '/v1/query/web/execute?dc=dc2')).json;
  t.like(ex, { Service: 'web', Datacenter: 'dc2' });
  // dc2's agents read their datacenter's queries for DNS within a second of a write (b2 did not make it), and dc1
  // keeps dc2's answer (an NXDOMAIN too) for dc_cache_ttl (5 s).
  const d = await until('dc2 answers web.query', async () => { const x = await dig(a1.dnsPort, 'web.query.dc2.consul'); return x.answer.length ? x : undefined; }, 15_000);
  t.deepEqual(d.answer.map(x => x.data), ['127.0.0.21']);
  t.deepEqual((await dig(a1.dnsPort, '_api._tcp.query.dc2.consul', 'SRV')).answer.map(x => x.data), ['1 1 8021 b1.node.dc2.consul.']);
  // dc1 has no catch-all: its own names stay unknown.
  t.is((await dig(a1.dnsPort, 'web.query.consul')).status, 'NXDOMAIN');
  t.is((await a1.req('POST', '/v1/query', { Name: '', Template: { Type: 'name_prefix_match' }, Service: { Service: '${name.full}', Failover: { NearestN: 1 } } })).status, 200);
  await until('dc1 catch-all in DNS', async () => (await dig(a1.dnsPort, 'api.query.consul')).answer.length > 0 || undefined, 15_000);
  t.deepEqual((await dig(a1.dnsPort, 'api.query.consul', 'SRV')).answer.map(x => x.data), ['1 1 8021 b1.node.dc2.consul.']);
});

test.serial('kill: dc2 agents SIGKILLed → ?dc=dc2 is 500 within the deadline, DNS for dc2 answers (stale or SERVFAIL) within 3 s, dc1 untouched', async t => {
  const { a1, b1, b2 } = fed;
  t.deepEqual((await dig(a1.dnsPort, 'web.service.dc2.consul')).answer.map(r => r.data), ['127.0.0.21'], 'cached before the kill');
  b1.proc.kill('SIGKILL'); b2.proc.kill('SIGKILL');
  await new Promise(r => setTimeout(r, 300));
  let t0 = Date.now();
  const r = await a1.req('GET', '/v1/catalog/services?dc=dc2');
  t.is(r.status, 500);
  t.true(Date.now() - t0 < 6000, `answered in ${Date.now() - t0} ms`);
  t.is(r.text, 'No path to datacenter');
  t0 = Date.now();
  const stale = await dig(a1.dnsPort, 'web.service.dc2.consul', 'A', ['+time=5']);
  t.true(Date.now() - t0 < 3000, `stale answer in ${Date.now() - t0} ms`);
  t.is(stale.status, 'NOERROR');
  t.deepEqual(stale.answer.map(x => x.data), ['127.0.0.21']);
  t0 = Date.now();
  const cold = await dig(a1.dnsPort, 'api.service.dc2.consul', 'A', ['+time=5']);
  t.true(Date.now() - t0 < 3000, `cold answer in ${Date.now() - t0} ms`);
  t.is(cold.status, 'SERVFAIL');
  // Later, once the WAN pool saw them fail: still fast.
  await until('dc2 failed in the WAN pool', async () => (await names(a1)).every(n => n.endsWith('.dc1')) || undefined, 20_000);
  t0 = Date.now();
  t.is((await a1.req('GET', '/v1/kv/cfg/color?dc=dc2')).status, 500);
  t.true(Date.now() - t0 < 1000);
  t.deepEqual((await dig(a1.dnsPort, 'web.service.dc2.consul', 'A', ['+time=5'])).answer.map(x => x.data), ['127.0.0.21']);
  // dc1 is untouched.
  t.deepEqual((await dig(a1.dnsPort, 'web.service.consul')).answer.map(x => x.data), ['127.0.0.11']);
  t.is((await a1.req('GET', '/v1/catalog/services')).status, 200);
  t.like((await a1.req('GET', '/v1/query/webq/execute')).json, { Datacenter: 'dc1', Failovers: 0 });
  t.deepEqual((await a1.req('GET', '/v1/catalog/datacenters')).json, ['dc1', 'dc2'], 'a failed datacenter is still known');
});

test('wan: the gossip key applies to the WAN pool too: same key joins, another key cannot', async t => {
  const key = Buffer.alloc(32, 7).toString('base64');
  const other = Buffer.alloc(32, 9).toString('base64');
  const x = await startAgent(t, { node: 'x1', args: ['-datacenter', 'dc7', '-encrypt', key] });
  const y = await startAgent(t, { node: 'y1', args: ['-datacenter', 'dc8', '-encrypt', key] });
  const z = await startAgent(t, { node: 'z1', args: ['-datacenter', 'dc9', '-encrypt', other] });
  t.is((await y.req('PUT', `/v1/agent/join/127.0.0.1:${x.wanPort}?wan=1`)).status, 200);
  await until('x sees y over the encrypted WAN', async () => (await names(x)).includes('y1.dc8') || undefined, 10_000);
  t.deepEqual((await x.req('GET', '/v1/catalog/datacenters')).json, ['dc7', 'dc8']);
  const bad = await z.req('PUT', `/v1/agent/join/127.0.0.1:${x.wanPort}?wan=1`);
  t.is(bad.status, 500);
  t.false((await names(x)).includes('z1.dc9'));
});

test.serial('leave: SIGINT leaves the WAN pool too (others see `left`, not failed)', async t => {
  const { a1, a2 } = fed;
  await a2.stop('SIGINT');
  const st = await until('a1 sees a2.dc1 left', async () => {
    const m = ((await a1.req('GET', '/v1/agent/members?wan=1')).json as { Name: string; Status: number }[]).find(x => x.Name === 'a2.dc1');
    return m?.Status === 3 ? m.Status : undefined;
  }, 10_000);
  t.is(st, 3);
  // force-leave?wan&prune forgets it in the WAN pool (the LAN pool is left alone).
  t.is((await a1.req('PUT', '/v1/agent/force-leave/a2.dc1?wan&prune')).status, 200);
  await until('a2.dc1 pruned from the WAN pool', async () => !((await a1.req('GET', '/v1/agent/members?wan=1')).json as { Name: string }[]).some(m => m.Name === 'a2.dc1') || undefined, 10_000);
  t.true(((await a1.req('GET', '/v1/agent/members')).json as { Name: string }[]).some(m => m.Name === 'a2'), 'still in the LAN pool (left)');
});
