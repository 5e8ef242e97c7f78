/** PUT /v1/txn against a real agent: all-or-nothing, one index, results in order (catalog operations: goclient-compat.test.ts). */
import test from 'ava';
import { startAgent, type TestAgent } from './helpers/agent.ts';

let agent: TestAgent;
test.before(async () => { agent = await startAgent(null); });
test.after.always(async () => { await agent?.stop(); });

const b64 = (s: string) => Buffer.from(s).toString('base64');
const kv = (Verb: string, Key: string, extra: Record<string, unknown> = {}) => ({ KV: { Verb, Key, ...extra } });

test('txn: sets, gets and checks apply together at one index', async t => {
  const r = await agent.req('PUT', '/v1/txn', [kv('set', 'tx/a', { Value: b64('1'), Flags: 3 }), kv('set', 'tx/b', { Value: b64('2') }), kv('get', 'tx/a'), kv('get-tree', 'tx/'), kv('check-not-exists', 'tx/c')]);
  t.is(r.status, 200);
  t.is(r.json.Errors, null);
  const res = r.json.Results.map((x: { KV: { Key: string; Value: string | null; ModifyIndex: number; Flags: number } }) => x.KV);
  t.deepEqual(res.map((x: { Key: string }) => x.Key), ['tx/a', 'tx/b', 'tx/a', 'tx/a', 'tx/b']);
  t.is(res[0].Value, null, 'set results carry no value');
  t.is(res[2].Value, b64('1'));
  t.is(res[2].Flags, 3);
  t.is(new Set(res.map((x: { ModifyIndex: number }) => x.ModifyIndex)).size, 1, 'one index for the whole transaction');
  t.is(res[0].ModifyIndex, Number(r.headers.get('x-consul-index')));
});

test('txn: a failing operation writes nothing and reports its index', async t => {
  await agent.req('PUT', '/v1/kv/tx2/a', 'orig');
  const mi = (await agent.req('GET', '/v1/kv/tx2/a')).json[0].ModifyIndex;
  const r = await agent.req('PUT', '/v1/txn', [kv('set', 'tx2/new', { Value: b64('x') }), kv('delete', 'tx2/a'), kv('cas', 'tx2/a', { Value: b64('y'), Index: mi + 100 })]);
  t.is(r.status, 409);
  t.is(r.json.Results, null);
  t.deepEqual(r.json.Errors, [{ OpIndex: 2, What: 'failed to set key "tx2/a", index is stale' }]);
  t.is((await agent.req('GET', '/v1/kv/tx2/new')).status, 404);
  t.is(Buffer.from((await agent.req('GET', '/v1/kv/tx2/a')).json[0].Value, 'base64').toString(), 'orig');
  const ok = await agent.req('PUT', '/v1/txn', [kv('check-index', 'tx2/a', { Index: mi }), kv('cas', 'tx2/a', { Value: b64('y'), Index: mi }), kv('delete-tree', 'tx2/')]);
  t.is(ok.status, 200);
  t.is((await agent.req('GET', '/v1/kv/tx2/?recurse')).status, 404);
});

test('txn: lock/unlock with sessions; too many operations refused', async t => {
  const sid = (await agent.req('PUT', '/v1/session/create', {})).json.ID;
  const r = await agent.req('PUT', '/v1/txn', [kv('lock', 'tx3/l', { Value: b64('me'), Session: sid }), kv('check-session', 'tx3/l', { Session: sid })]);
  t.is(r.status, 200);
  t.is(r.json.Results[0].KV.LockIndex, 1);
  t.is(r.json.Results[0].KV.Session, sid);
  const other = (await agent.req('PUT', '/v1/session/create', {})).json.ID;
  const busy = await agent.req('PUT', '/v1/txn', [kv('lock', 'tx3/l', { Session: other })]);
  t.is(busy.status, 409);
  t.is((await agent.req('PUT', '/v1/txn', [kv('unlock', 'tx3/l', { Session: sid })])).status, 200);
  t.is((await agent.req('GET', '/v1/kv/tx3/l')).json[0].Session, undefined);
  t.is((await agent.req('PUT', '/v1/txn', Array.from({ length: 129 }, (_, i) => kv('get', `k${i}`)))).status, 413);
});

test('coordinates: every node at the origin', async t => {
  const n = (await agent.req('GET', '/v1/coordinate/nodes')).json;
  t.is(n[0].Node, agent.node);
  t.is(n[0].Coord.Error, 1.5);
  t.is((await agent.req('GET', '/v1/coordinate/datacenters')).json[0].Datacenter, 'dc1');
  t.is((await agent.req('GET', `/v1/coordinate/node/${agent.node}`)).json.length, 1);
  t.is((await agent.req('GET', '/v1/coordinate/node/nope')).status, 404);
});
