/**
 * The Consul HTTP compatibility checklist (reference consul-http.md §10), one test per item,
 * against a real `roster agent` process. Plus the endpoints issue 4 adds (KV, sessions, events,
 * catalog writes, members, agent health, ?filter).
 */
import test from 'ava';
import { createServer } from 'node:http';
import { startAgent, type TestAgent } from './helpers/agent.ts';

let agent: TestAgent;
// python-consul's and Patroni's legacy GET forms are used below: this agent turns the (default off) compatibility on.
test.before(async () => { agent = await startAgent(null, { args: ['-legacy-get-compat'] }); });
test.after.always(async () => { await agent?.stop(); });

const put = (p: string, body?: unknown) => agent.req('PUT', p, body);
const get = (p: string) => agent.req('GET', p);
const idx = (r: { headers: Headers }) => Number(r.headers.get('x-consul-index'));
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function until<T>(fn: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(100);
  }
}

test('checklist 1: read endpoints send meta headers, also on a KV 404', async t => {
  for (const p of ['/v1/catalog/services', '/v1/catalog/nodes', '/v1/health/service/consul', '/v1/kv/no/such/key', '/v1/session/list', '/v1/kv/?recurse']) {
    const r = await get(p);
    t.true(idx(r) >= 1, `${p} X-Consul-Index`);
    t.is(r.headers.get('x-consul-lastcontact'), '0', p);
    t.is(r.headers.get('x-consul-knownleader'), 'true', p);
  }
  t.is((await get('/v1/kv/no/such/key')).status, 404);
  t.is((await get('/v1/kv/no/such/key')).text, '');
  t.is((await get('/v1/catalog/services')).headers.get('x-consul-effective-consistency'), 'leader');
  t.is((await get('/v1/health/service/consul?stale')).headers.get('x-consul-effective-consistency'), 'stale');
  t.is((await get('/v1/agent/self')).headers.get('x-consul-index'), null);
});

test('checklist 2: blocking KV read waits the full wait, wakes at once on its key, not on another key', async t => {
  await put('/v1/kv/chk2/watched', 'v1');
  const cur = idx(await get('/v1/kv/chk2/watched'));
  let t0 = Date.now();
  let r = await get(`/v1/kv/chk2/watched?index=${cur}&wait=2s`);
  let took = Date.now() - t0;
  // 2 s + up to wait/16 jitter (125 ms); the rest is slack for a loaded test machine
  t.true(took >= 2000 && took <= 2125 + 400, `timeout took ${took} ms`);
  t.is(idx(r), cur);
  // an unrelated write does not wake the watch; a write to the key does, at once
  t0 = Date.now();
  const p = get(`/v1/kv/chk2/watched?index=${cur}&wait=5s`);
  await sleep(300);
  await put('/v1/kv/chk2/other', 'x');
  await put('/v1/kv/chk2/watchedX', 'x');
  await sleep(500);
  await put('/v1/kv/chk2/watched', 'v2');
  r = await p;
  took = Date.now() - t0;
  t.true(took >= 800 && took < 1500, `woke after ${took} ms`);
  t.true(idx(r) > cur);
  t.is(Buffer.from(r.json[0].Value, 'base64').toString(), 'v2');
});

// Serial: an unknown service carries the catalog-wide index, so concurrent writes elsewhere would return it early.
test.serial('checklist 2b: blocking catalog read wakes at once on a relevant registration', async t => {
  const cur = idx(await get('/v1/catalog/service/blk'));
  const t0 = Date.now();
  setTimeout(() => void put('/v1/agent/service/register', { Name: 'blk', Port: 1 }), 200);
  const r = await get(`/v1/catalog/service/blk?index=${cur}&wait=10s`);
  t.true(Date.now() - t0 < 2000);
  t.true(idx(r) > cur);
  t.is(r.json.length, 1);
});

test('checklist 3: single-key X-Consul-Index is the entry ModifyIndex; recurse is the prefix max', async t => {
  await put('/v1/kv/chk3/a', '1');
  await put('/v1/kv/chk3/b', '2');
  await put('/v1/kv/unrelated3', '3');
  const a = await get('/v1/kv/chk3/a');
  t.is(idx(a), a.json[0].ModifyIndex);
  const rec = await get('/v1/kv/chk3/?recurse');
  t.is(idx(rec), Math.max(...rec.json.map((e: { ModifyIndex: number }) => e.ModifyIndex)));
  await agent.req('DELETE', '/v1/kv/chk3/b');
  const after = await get('/v1/kv/chk3/?recurse');
  t.true(idx(after) > idx(rec), 'a delete under the prefix raises the prefix index');
});

test('checklist 4: wait durations and consistency flags', async t => {
  for (const w of ['1.5s', '120000ms', '9.98s']) t.is((await get(`/v1/kv/x?wait=${w}`)).status, 404, w);
  const bad = await get('/v1/catalog/services?index=1&wait=10');
  t.is(bad.status, 400);
  t.is(bad.text, 'Invalid wait time');
  const sc = await get('/v1/catalog/nodes?stale&consistent');
  t.is(sc.status, 400);
  t.is(sc.text, 'Cannot specify ?stale with ?consistent, conflicting semantics.');
  t.is((await get('/v1/kv/x?stale&consistent')).status, 400);
});

test('checklist 5: case-insensitive bodies register; unknown fields are rejected', async t => {
  const ok = await put('/v1/agent/service/register', { name: 'ci-web', port: 80, check: { http: 'http://127.0.0.1:1/', interval: '10s' } });
  t.is(ok.status, 200);
  t.is(ok.text, '');
  t.truthy((await get('/v1/agent/services')).json['ci-web']);
  const bad = await put('/v1/agent/service/register', { name: 'x', bogus: 1 });
  t.is(bad.status, 400);
  t.is(bad.text, 'Request decode failed: json: unknown field "bogus"');
  const badCat = await put('/v1/catalog/register', { Node: 'n', Address: '1.1.1.1', WriteRequest: {} });
  t.is(badCat.status, 400);
});

test('checklist 6: %2F keys and slash service IDs', async t => {
  await put('/v1/kv/a%2Fb6', 'slash');
  const r = await get('/v1/kv/a/b6');
  t.is(r.json[0].Key, 'a/b6');
  for (const path of ['/v1/agent/service/deregister/s%2Fm', '/v1/agent/service/deregister/s/m']) {
    await put('/v1/agent/service/register', { ID: 's/m', Name: 'slashy' });
    t.truthy((await get('/v1/agent/services')).json['s/m']);
    t.is((await put(path)).status, 200, path);
    t.falsy((await get('/v1/agent/services')).json['s/m']);
  }
});

test('checklist 7: wrong method gives 405 with Allow', async t => {
  const r = await agent.req('DELETE', '/v1/catalog/services');
  t.is(r.status, 405);
  t.is(r.headers.get('allow'), 'OPTIONS,GET');
  t.is(r.text, 'method DELETE not allowed');
  const kv = await agent.req('POST', '/v1/kv/x');
  t.is(kv.status, 405);
  t.is(kv.headers.get('allow'), 'OPTIONS,GET,PUT,DELETE');
});

test('checklist 8: KV CAS, acquire, release, conflicting flags', async t => {
  t.is((await put('/v1/kv/chk8/k', 'v')).json, true);
  t.is((await put('/v1/kv/chk8/k?cas=0', 'v2')).json, false);
  const mi = (await get('/v1/kv/chk8/k')).json[0].ModifyIndex;
  t.is((await put(`/v1/kv/chk8/k?cas=${mi + 1000}`, 'v2')).json, false);
  t.is((await put(`/v1/kv/chk8/k?cas=${mi}`, 'v2')).json, true);
  const s1 = (await put('/v1/session/create', {})).json.ID;
  const s2 = (await put('/v1/session/create', {})).json.ID;
  t.is((await put(`/v1/kv/chk8/lock?acquire=${s1}`, 'a')).json, true);
  t.is((await put(`/v1/kv/chk8/lock?acquire=${s2}`, 'b')).json, false);
  t.is((await put(`/v1/kv/chk8/lock?acquire=${s1}`, 'c')).json, true);
  let e = (await get('/v1/kv/chk8/lock')).json[0];
  t.is(e.LockIndex, 1);
  t.is(e.Session, s1);
  t.is(Buffer.from(e.Value, 'base64').toString(), 'c');
  t.is((await put(`/v1/kv/chk8/lock?release=${s2}`)).json, false);
  t.is((await put(`/v1/kv/chk8/lock?release=${s1}`, 'd')).json, true);
  e = (await get('/v1/kv/chk8/lock')).json[0];
  t.is(e.Session, undefined);
  t.is((await put(`/v1/kv/chk8/lock?acquire=${s2}`, 'e')).json, true, 'a manual release starts no lock-delay');
  t.is((await get('/v1/kv/chk8/lock')).json[0].LockIndex, 2);
  const bad = await put('/v1/kv/chk8/lock?acquire=00000000-0000-0000-0000-000000000000');
  t.is(bad.status, 500);
  t.true(bad.text.startsWith('invalid session'));
  const conflict = await agent.req('DELETE', '/v1/kv/chk8?recurse&cas=1');
  t.is(conflict.status, 400);
  t.true(conflict.text.startsWith('Conflicting flags: '));
  t.is((await put(`/v1/kv/chk8/k?cas=1&acquire=${s1}`)).status, 400);
  t.is((await put('/v1/kv/chk8/big', 'x'.repeat(512 * 1024 + 1))).status, 413);
  t.is((await put('/v1/kv/chk8/flagged?flags=42', 'f')).json, true);
  t.is((await get('/v1/kv/chk8/flagged')).json[0].Flags, 42);
  t.is((await put('/v1/kv/chk8/empty', '')).json, true);
  t.is((await get('/v1/kv/chk8/empty')).json[0].Value, null);
  t.deepEqual((await get('/v1/kv/chk8/?keys&separator=/')).json, ['chk8/empty', 'chk8/flagged', 'chk8/k', 'chk8/lock']);
  t.is((await agent.req('DELETE', '/v1/kv/chk8/k?cas=1')).json, false);
  t.is((await agent.req('DELETE', '/v1/kv/chk8?recurse')).json, true);
  t.is((await get('/v1/kv/chk8?recurse')).status, 404);
});

test('checklist 9: session TTL bounds, expiry releases or deletes per Behavior, lock-delay', async t => {
  const bad = await put('/v1/session/create', { ttl: '5s' });
  t.is(bad.status, 500);
  t.is(bad.text, "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]");
  const rel = (await put('/v1/session/create', { Name: 'rel', TTL: '10s', LockDelay: '3s' })).json.ID;
  const del = (await put('/v1/session/create', { name: 'del', ttl: '10s', behavior: 'delete', checks: [] })).json.ID;
  const info = (await get(`/v1/session/info/${del}`)).json[0];
  t.is(info.NodeChecks, null, 'Checks: [] means no checks');
  t.is(info.LockDelay, 15e9);
  t.is((await put(`/v1/kv/chk9/rel?acquire=${rel}`, 'r')).json, true);
  t.is((await put(`/v1/kv/chk9/del?acquire=${del}`, 'd')).json, true);
  const t0 = Date.now();
  await until(async () => (await get(`/v1/session/info/${rel}`)).json.length === 0, 25_000);
  const gone = Date.now() - t0;
  t.true(gone >= 18_000 && gone <= 22_500, `expired after ${gone} ms`);
  await until(async () => (await get(`/v1/session/info/${del}`)).json.length === 0, 5000);
  const r = await get('/v1/kv/chk9/rel');
  t.is(r.status, 200);
  t.is(r.json[0].Session, undefined, 'release behaviour keeps the key without a session');
  t.is((await get('/v1/kv/chk9/del')).status, 404, 'delete behaviour removes the key');
  const s3 = (await put('/v1/session/create', {})).json.ID;
  t.is((await put(`/v1/kv/chk9/rel?acquire=${s3}`)).json, false, 'inside lock-delay');
  await sleep(3000);
  t.is((await put(`/v1/kv/chk9/rel?acquire=${s3}`)).json, true, 'after lock-delay');
  t.is((await put('/v1/session/renew/00000000-0000-0000-0000-000000000000')).status, 404);
});

test('checklist 10: TTL and HTTP checks, ?passing', async t => {
  const srv = createServer((_q, s) => { s.writeHead(429); s.end('slow down'); });
  await new Promise<void>(r => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => srv.close());
  const port = (srv.address() as { port: number }).port;
  await put('/v1/agent/service/register', { Name: 'chk10', ID: 'chk10-ttl', Check: { TTL: '2s' } });
  await put('/v1/agent/service/register', { Name: 'chk10', ID: 'chk10-http', Check: { HTTP: `http://127.0.0.1:${port}/`, Interval: '1s' } });
  let c = (await get('/v1/agent/checks')).json['service:chk10-ttl'];
  t.is(c.Status, 'critical');
  await put('/v1/agent/check/pass/service:chk10-ttl?note=x');
  c = (await get('/v1/agent/checks')).json['service:chk10-ttl'];
  t.is(c.Status, 'passing');
  t.is(c.Output, 'x');
  const http = await until(async () => { const x = (await get('/v1/agent/checks')).json['service:chk10-http']; return x.Status === 'warning' && x; }, 8000);
  t.is(http.Status, 'warning');
  const passing = await get('/v1/health/service/chk10?passing');
  t.deepEqual(passing.json.map((e: { Service: { ID: string } }) => e.Service.ID), ['chk10-ttl']);
  const expired = await until(async () => { const x = (await get('/v1/agent/checks')).json['service:chk10-ttl']; return x.Status === 'critical' && x; }, 8000);
  t.is(expired.Output, 'TTL expired (last output before timeout follows): x');
  t.is((await get('/v1/health/service/chk10?passing')).json.length, 0);
  t.is((await get('/v1/health/service/chk10')).json.length, 2);
});

test('checklist 11: content types', async t => {
  t.is((await get('/v1/catalog/services')).headers.get('content-type'), 'application/json');
  t.is((await get('/v1/kv/nope')).headers.get('content-type'), 'text/plain; charset=utf-8');
  t.is((await put('/v1/kv/ct', 'raw')).headers.get('content-type'), 'application/json');
  t.is((await get('/v1/kv/ct?raw')).headers.get('content-type'), 'text/plain; charset=utf-8');
  t.is((await get('/v1/kv/ct?raw')).text, 'raw');
  t.is((await put('/v1/agent/service/register', { x: 1 })).headers.get('content-type'), 'text/plain; charset=utf-8');
});

test('legacy GET compat: python-consul GET deregister works with -legacy-get-compat, 405 by default', async t => {
  await put('/v1/agent/service/register', { Name: 'legacy' });
  t.is((await get('/v1/agent/service/deregister/legacy')).status, 200);
  const strict = await startAgent(t);
  await strict.req('PUT', '/v1/agent/service/register', { Name: 'legacy' });
  const r = await strict.req('GET', '/v1/agent/service/deregister/legacy');
  t.is(r.status, 405);
  t.is(r.headers.get('allow'), 'OPTIONS,PUT');
});

test('events: fire returns a UserEvent; list has it, with a UUID-derived index, blocking', async t => {
  const before = await get('/v1/event/list?name=deploy');
  const t0 = Date.now();
  const waiting = get(`/v1/event/list?name=deploy&index=${before.headers.get('x-consul-index')}&wait=5s`);
  await sleep(200);
  const f = await put('/v1/event/fire/deploy?service=%5Enomatch%24&tag=y', 'payload');
  t.is(f.status, 200);
  t.is(f.json.Name, 'deploy');
  t.is(f.json.Payload, Buffer.from('payload').toString('base64'));
  t.is(f.json.ServiceFilter, '^nomatch$');
  const f2 = await put('/v1/event/fire/deploy');
  t.is(f2.json.Payload, null);
  const w = await waiting;
  t.true(Date.now() - t0 < 2000);
  // the service filter does not match this agent's services, so only the second event is listed
  const l = await get('/v1/event/list?name=deploy');
  t.is(l.json.at(-1).ID, f2.json.ID);
  t.false(l.json.some((e: { ID: string }) => e.ID === f.json.ID));
  const id = f2.json.ID.replace(/-/g, '');
  t.is(l.headers.get('x-consul-index'), (BigInt('0x' + id.slice(0, 16)) ^ BigInt('0x' + id.slice(16))).toString());
  t.true(w.json.length >= 1);
  t.is((await put('/v1/event/fire/big', 'x'.repeat(600))).status, 413);
});

test('catalog register/deregister, node deregister invalidates sessions', async t => {
  const body = {
    Node: 'ext-db', Address: '10.2.0.1', NodeMeta: { env: 'prod' }, TaggedAddresses: { wan: '1.2.3.4' },
    Service: { Service: 'extdb', ID: 'extdb1', Port: 5432, Tags: ['primary'] }, Checks: [{ Name: 'alive', ServiceID: 'extdb1', Status: 'passing' }, { CheckID: 'nodeok', Name: 'Node OK', Status: 'passing' }],
  };
  t.is((await put('/v1/catalog/register', body)).json, true);
  const svc = (await get('/v1/catalog/service/extdb')).json;
  t.is(svc[0].Node, 'ext-db');
  t.is(svc[0].NodeMeta.env, 'prod');
  const h = (await get('/v1/health/service/extdb')).json[0];
  t.deepEqual(h.Checks.map((c: { CheckID: string }) => c.CheckID).sort(), ['alive', 'nodeok']);
  t.is((await put('/v1/catalog/register', { Node: 'ext-db', SkipNodeUpdate: true, Service: { Service: 'extdb', ID: 'extdb2', Port: 1 } })).status, 200);
  t.is((await get('/v1/catalog/node/ext-db')).json.Node.Address, '10.2.0.1', 'SkipNodeUpdate keeps the node');
  t.is((await put('/v1/catalog/register', { Node: 'noaddr' })).text, 'Must provide address if SkipNodeUpdate is not set');
  const sid = (await put('/v1/session/create', { Node: 'ext-db', Checks: ['nodeok'] })).json.ID;
  t.is((await put(`/v1/kv/ext/lock?acquire=${sid}`, 'x')).json, true);
  t.is((await put('/v1/session/create', { Node: 'ghost' })).text, 'Missing node registration');
  t.is((await put('/v1/catalog/deregister', { Node: 'ext-db', CheckID: 'alive' })).json, true);
  t.is((await get('/v1/health/service/extdb')).json[0].Checks.length, 1);
  t.is((await put('/v1/catalog/deregister', { Node: 'ext-db', ServiceID: 'extdb2' })).json, true);
  t.is((await get('/v1/catalog/service/extdb')).json.length, 1);
  t.is((await put('/v1/catalog/deregister', { Node: 'ext-db' })).json, true);
  t.deepEqual((await get('/v1/catalog/service/extdb')).json, []);
  await until(async () => (await get(`/v1/session/info/${sid}`)).json.length === 0, 5000);
  t.is((await get('/v1/kv/ext/lock')).json[0].Session, undefined);
});

test('session linked to a check that goes critical is invalidated', async t => {
  await put('/v1/agent/service/register', { Name: 'sesscheck', Check: { TTL: '30s', Status: 'passing' } });
  const sid = (await put('/v1/session/create', { ServiceChecks: [{ ID: 'service:sesscheck' }] })).json.ID;
  t.is((await get(`/v1/session/info/${sid}`)).json[0].ServiceChecks[0].ID, 'service:sesscheck');
  await put('/v1/agent/check/fail/service:sesscheck');
  await until(async () => (await get(`/v1/session/info/${sid}`)).json.length === 0, 5000);
  const crit = await put('/v1/session/create', { ServiceChecks: [{ ID: 'service:sesscheck' }] });
  t.is(crit.status, 500);
  t.is(crit.text, "Check 'service:sesscheck' is in critical state");
  t.pass();
});

test('members, join without gossip, agent health endpoints', async t => {
  const m = (await get('/v1/agent/members')).json;
  t.is(m.length, 1);
  t.is(m[0].Name, agent.node);
  t.is(m[0].Status, 1);
  t.is(m[0].Port, agent.serfPort);
  t.is(m[0].Tags.role, 'consul');
  await put('/v1/agent/service/register', { Name: 'ah', ID: 'ah1', Check: { TTL: '30s', Status: 'warning' } });
  let r = await get('/v1/agent/health/service/id/ah1');
  t.is(r.status, 429);
  t.is(r.json.AggregatedStatus, 'warning');
  r = await get('/v1/agent/health/service/name/ah?format=text');
  t.is(r.status, 429);
  t.is(r.text, 'warning');
  await put('/v1/agent/check/pass/service:ah1');
  t.is((await get('/v1/agent/health/service/name/ah')).status, 200);
  await put('/v1/agent/check/fail/service:ah1');
  t.is((await get('/v1/agent/health/service/id/ah1')).status, 503);
  t.is((await get('/v1/agent/health/service/id/nope')).status, 404);
  t.is((await get('/v1/agent/health/service/name/nope?format=text')).text, 'ServiceName nope Not Found');
});

test('?filter on catalog, health and agent endpoints; a bad expression is a 500', async t => {
  await put('/v1/agent/service/register', { Name: 'flt', ID: 'flt1', Tags: ['blue'], Meta: { ver: '2' }, Port: 81 });
  await put('/v1/agent/service/register', { Name: 'flt', ID: 'flt2', Tags: ['green'], Port: 82, Check: { TTL: '60s', CheckID: 'flt2-ttl' } });
  const q = (p: string, f: string) => get(`${p}${p.includes('?') ? '&' : '?'}filter=${encodeURIComponent(f)}`);
  t.deepEqual((await q('/v1/catalog/service/flt', '"blue" in ServiceTags')).json.map((x: { ServiceID: string }) => x.ServiceID), ['flt1']);
  t.deepEqual((await q('/v1/health/service/flt', 'Service.Meta.ver == "2"')).json.map((x: { Service: { ID: string } }) => x.Service.ID), ['flt1']);
  t.deepEqual(Object.keys((await q('/v1/agent/services', 'Port == 82')).json), ['flt2']);
  t.deepEqual(Object.keys((await q('/v1/agent/checks', 'ServiceID == flt2')).json), ['flt2-ttl']);
  t.deepEqual((await q('/v1/catalog/services', 'ServiceName == flt and ServiceTags contains green')).json, { flt: ['green'] });
  t.is((await q('/v1/catalog/nodes', `Node == "${agent.node}"`)).json.length, 1);
  const bad = await q('/v1/catalog/services', 'ServiceName ==');
  t.is(bad.status, 500);
});

test('connect stubs answer [] with meta headers', async t => {
  for (const p of ['/v1/catalog/connect/web', '/v1/health/connect/web']) {
    const r = await get(p);
    t.is(r.status, 200);
    t.deepEqual(r.json, []);
    t.true(idx(r) >= 1);
  }
});

test('?filter on /v1/catalog/node/:n filters its services', async t => {
  await put('/v1/agent/service/register', { Name: 'nodeflt', ID: 'nodeflt1', Port: 9001 });
  const r = await get(`/v1/catalog/node/${agent.node}?filter=${encodeURIComponent('Port == 9001')}`);
  t.deepEqual(Object.keys(r.json.Services), ['nodeflt1']);
});

test('Patroni 3.0.2 DCS sequence: delete-behaviour session, leader lock, index == ModifyIndex watch, service with slash ID', async t => {
  const s = await put('/v1/session/create', { name: 'pg-m1', checks: [], lockdelay: '0.001s', behavior: 'delete', ttl: '15.0s' });
  t.is(s.status, 200);
  const sid = s.json.ID;
  t.is((await put('/v1/kv/service/pg/initialize?cas=0', 'sys-id')).json, true);
  t.is((await put('/v1/kv/service/pg/initialize?cas=0', 'other')).json, false);
  await agent.req('DELETE', '/v1/kv/service/pg/members/m1');
  t.is((await put(`/v1/kv/service/pg/members/m1?acquire=${sid}`, '{"role":"primary"}')).json, true);
  t.is((await put(`/v1/kv/service/pg/leader?acquire=${sid}`, 'm1')).json, true);
  const cluster = await get('/v1/kv/service/pg/?recurse=1');
  t.deepEqual(cluster.json.map((e: { Key: string }) => e.Key), ['service/pg/initialize', 'service/pg/leader', 'service/pg/members/m1']);
  const leader = (await get('/v1/kv/service/pg/leader')).json[0];
  const w = await get(`/v1/kv/service/pg/leader?index=${leader.ModifyIndex}&wait=1.5s`);
  t.is(idx(w), leader.ModifyIndex, 'an unchanged leader key returns its own ModifyIndex');
  t.is((await put(`/v1/session/renew/${sid}`)).status, 200);
  t.is((await put('/v1/agent/service/register', { name: 'pg', enabletagoverride: true, id: 'pg/m1', address: '127.0.0.1', port: 5432, tags: ['primary'], check: { http: 'http://127.0.0.1:1/primary', interval: '5s', DeregisterCriticalServiceAfter: '150.0s' } })).status, 200);
  t.truthy((await get('/v1/agent/services')).json['pg/m1']);
  t.is((await get('/v1/agent/service/deregister/pg/m1')).status, 200, 'GET deregister with a raw slash (legacy compat)');
  t.is((await agent.req('DELETE', `/v1/kv/service/pg/leader?cas=${leader.ModifyIndex}`)).json, true);
  await put(`/v1/session/destroy/${sid}`);
  t.is((await get('/v1/kv/service/pg/members/m1')).status, 404, 'delete behaviour removed the member key');
  t.is((await agent.req('DELETE', '/v1/kv/service/pg/?recurse=1')).json, true);
  t.is((await get('/v1/kv/service/pg/?recurse=1')).status, 404);
});

test('blocking: a watched key that is deleted returns 404 at once with a higher index (Patroni leader watch)', async t => {
  await put('/v1/kv/delwatch/leader', 'm1');
  const mi = (await get('/v1/kv/delwatch/leader')).json[0].ModifyIndex;
  const t0 = Date.now();
  const w = get(`/v1/kv/delwatch/leader?index=${mi}&wait=5s`);
  await sleep(200);
  await put('/v1/kv/delwatch/unrelated', 'x');
  await sleep(200);
  await agent.req('DELETE', '/v1/kv/delwatch/leader');
  const r = await w;
  t.true(Date.now() - t0 < 1500);
  t.is(r.status, 404);
  t.true(idx(r) > mi);
  // a watch on the (still) missing key is not returned by other writes after its first pass
  // (an index above the table's so that the first pass blocks even while other tests write KV)
  const cur = idx(await get('/v1/kv/delwatch/leader')) + 1_000_000;
  const t1 = Date.now();
  const w2 = get(`/v1/kv/delwatch/leader?index=${cur}&wait=1s`);
  await sleep(100);
  await put('/v1/kv/delwatch/unrelated', 'y');
  const r2 = await w2;
  t.true(Date.now() - t1 >= 1000, 'blocked for the whole wait');
  t.is(r2.status, 404);
});
