/**
 * Two agents on one Redis: KV watches wake across agents (the hints stream), sessions and locks are shared,
 * user events fired on one agent are listed by the other, and the KV/session scripts keep their
 * invariants (no-op writes allocate no index, tombstones, event trimming, concurrent sweepers).
 */
import test from 'ava';
import { Redis } from 'ioredis';
import { testRedis } from './helpers/redis.ts';
import { startAgent, type TestAgent } from './helpers/agent.ts';
import { KvStore } from '../src/store/kv-store.ts';
import { SessionStore } from '../src/store/session-store.ts';
import { EventStore } from '../src/store/event-store.ts';
import { keysFor } from '../src/store/keys.ts';
import { HINTS_CLIENT } from '../src/store/hint-log.ts';

let a: TestAgent;
let b: TestAgent;
let redisUrl: string;
let stopRedis: () => Promise<void>;
test.before(async () => {
  const r = await testRedis();
  redisUrl = r.url;
  stopRedis = () => r.stop();
  [a, b] = await Promise.all([startAgent(null, { redis: r.url, node: 'agent-a' }), startAgent(null, { redis: r.url, node: 'agent-b' })]);
});
test.after.always(async () => { await a?.stop(); await b?.stop(); await stopRedis?.(); });

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

test('multi: a KV watch on agent B wakes at once on a write through agent A, not on another key', async t => {
  await a.req('PUT', '/v1/kv/multi/k', 'v1');
  const cur = Number((await b.req('GET', '/v1/kv/multi/k')).headers.get('x-consul-index'));
  const t0 = Date.now();
  const w = b.req('GET', `/v1/kv/multi/k?index=${cur}&wait=5s`);
  await sleep(200);
  await a.req('PUT', '/v1/kv/multi/other', 'x');
  await sleep(400);
  await a.req('PUT', '/v1/kv/multi/k', 'v2');
  const r = await w;
  const took = Date.now() - t0;
  t.true(took >= 550 && took < 1200, `took ${took} ms`);
  t.is(Buffer.from(r.json[0].Value, 'base64').toString(), 'v2');
  // prefix watch across agents
  const pcur = Number((await b.req('GET', '/v1/kv/multi/?recurse')).headers.get('x-consul-index'));
  const pw = b.req('GET', `/v1/kv/multi/?recurse&index=${pcur}&wait=5s`);
  await sleep(200);
  await a.req('DELETE', '/v1/kv/multi/other');
  const pr = await pw;
  t.true(Number(pr.headers.get('x-consul-index')) > pcur);
  t.deepEqual(pr.json.map((e: { Key: string }) => e.Key), ['multi/k']);
});

test('multi: a lock taken through A is refused through B; a session on B, its node, and events are shared', async t => {
  const sa = (await a.req('PUT', '/v1/session/create', {})).json.ID;
  const sb = (await b.req('PUT', '/v1/session/create', {})).json.ID;
  t.is((await b.req('GET', `/v1/session/info/${sb}`)).json[0].Node, 'agent-b');
  t.is((await a.req('PUT', `/v1/kv/mlock/lock?acquire=${sa}`)).json, true);
  t.is((await b.req('PUT', `/v1/kv/mlock/lock?acquire=${sb}`)).json, false);
  t.is((await a.req('GET', '/v1/session/node/agent-b')).json.length, 1);
  const ev = await a.req('PUT', '/v1/event/fire/multi-ev', 'p');
  const lb = await b.req('GET', '/v1/event/list?name=multi-ev');
  t.is(lb.json.at(-1).ID, ev.json.ID);
  t.is((await b.req('GET', '/v1/agent/members')).json[0].Name, 'agent-b');
});

test('store: no-op KV writes allocate no index; deletes leave tombstones that keep prefix indexes monotonic', async t => {
  const redis = new Redis(redisUrl);
  t.teardown(() => redis.disconnect());
  const keys = keysFor('storetest');
  const kv = new KvStore(redis, keys);
  const w1 = await kv.set('p/a', Buffer.from('x'));
  const w2 = await kv.set('p/a', Buffer.from('x'));
  t.is(w2.index, w1.index);
  t.is((await kv.get('p/a')).entry!.ModifyIndex, w1.index);
  const w3 = await kv.set('p/a', Buffer.from('x'), { flags: '1' });
  t.true(w3.index > w1.index);
  const d = await kv.delete('p/a', 'one');
  const l = await kv.list('p/');
  t.deepEqual(l.entries, []);
  t.is(l.tombIndex, d.index);
  await kv.set('p/a', Buffer.from('again'));
  const e = (await kv.get('p/a')).entry!;
  t.is(e.CreateIndex, e.ModifyIndex, 'a re-created key starts over');
  t.is((await kv.list('p/')).tombIndex, 0, 'its tombstone is gone');
  const bin = Buffer.from([0, 10, 255, 13, 10, 0]);
  await kv.set('p/bin', bin);
  t.deepEqual((await kv.get('p/bin')).entry!.Value, bin);
});

test('store: user events are deduplicated by ID and the newest 256 kept; concurrent sweeps are safe', async t => {
  const redis = new Redis(redisUrl);
  t.teardown(() => redis.disconnect());
  const keys = keysFor('storetest2');
  const s = new SessionStore(redis, keys);
  const events = new EventStore(redis, keys);
  const ev = (i: number) => ({ ID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, Name: 'e', Payload: null, NodeFilter: '', ServiceFilter: '', TagFilter: '', Version: 1, LTime: 0 });
  for (let i = 0; i < 300; i++) await events.record(ev(i), true);
  t.is(await events.record(ev(299), true), null);
  const all = await events.list();
  t.is(all.length, 256);
  t.is(all[0]!.ID, ev(44).ID);
  t.is(all.at(-1)!.LTime, 300);
  t.not(await events.record(ev(1), true), null, 'an ID trimmed away may be recorded again');
  // sessions: node must exist; two sweepers at once invalidate each expired session exactly once
  await redis.hset(keys.nodes, 'n1', '1\n1\n{}');
  const mk = (id: string) => s.create({ ID: id, Name: '', Node: 'n1', LockDelay: 0, Behavior: 'release', TTL: '10s', NodeChecks: null, ServiceChecks: null, _node: 'n1', _ttlMs: 10_000, _lockDelayMs: 0, _checks: [] });
  await mk('s1');
  await mk('s2');
  await s.sweep(); // the first sweep ever restarts TTL timers (no record of a last sweep: session grace)
  await redis.zadd(keys.sessionExpiry, 1, 's1', 1, 's2');
  const [x, y] = await Promise.all([s.sweep(), s.sweep()]);
  t.is(x.invalidated + y.invalidated, 2);
  t.is((await s.list()).sessions.length, 0);
  await t.throwsAsync(() => s.create({ ID: 's3', Name: '', Node: 'ghost', LockDelay: 0, Behavior: 'release', TTL: '', NodeChecks: null, ServiceChecks: null, _node: 'ghost', _ttlMs: 0, _lockDelayMs: 0, _checks: [] }), { message: /Missing node registration/ });
});

test('multi: a KV change made while B\'s hints reader reconnects still wakes B\'s watch (caught up from its last ID)', async t => {
  const redis = new Redis(redisUrl);
  t.teardown(() => redis.disconnect());
  await a.req('PUT', '/v1/kv/recon/k', 'v1');
  const cur = Number((await b.req('GET', '/v1/kv/recon/k')).headers.get('x-consul-index'));
  const t0 = Date.now();
  const w = b.req('GET', `/v1/kv/recon/k?index=${cur}&wait=8s`);
  await sleep(200);
  const list = String(await redis.call('CLIENT', 'LIST'));
  const ids = list.split('\n').filter(l => l.includes(` name=${HINTS_CLIENT} `)).map(l => /id=(\d+)/.exec(l)![1]!);
  t.is(ids.length, 2, 'one hints reader per agent');
  for (const id of ids) await redis.call('CLIENT', 'KILL', 'ID', id);
  await a.req('PUT', '/v1/kv/recon/k', 'v2');
  const r = await w;
  const took = Date.now() - t0;
  t.true(took < 4000, `took ${took} ms`);
  t.is(Buffer.from(r.json[0].Value, 'base64').toString(), 'v2');
});
