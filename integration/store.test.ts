import test from 'ava';
import { Redis } from 'ioredis';
import { testRedis } from './helpers/redis.ts';
import { CatalogStore } from '../src/store/catalog-store.ts';
import { keysFor } from '../src/store/keys.ts';
import type { CheckBody } from '../src/store/codec.ts';

const node = { ID: '11111111-2222-3333-4444-555555555555', Node: 'Node-A', Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} };
const svc = (id: string, port = 80) => ({ ID: id, Service: 'web', Tags: ['v1'], Address: '', Meta: {}, Port: port, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false });
const chk = (id: string, sid: string): CheckBody => ({ Node: 'Node-A', CheckID: id, Name: id, Notes: '', ServiceID: sid, ServiceName: sid ? 'web' : '', ServiceTags: [], Type: 'ttl', Interval: '', Timeout: '', ExposedPort: 0, Definition: { TTL: '1s' } });

async function setup(t: { teardown(fn: () => unknown): void }) {
  const r = await testRedis();
  const redis = new Redis(r.url, { lazyConnect: false });
  t.teardown(async () => { redis.disconnect(); await r.stop(); });
  return { store: new CatalogStore(redis, keysFor('dc1')), redis };
}

test('store: register is atomic, indexed, and a no-op re-registration changes nothing', async t => {
  const { store } = await setup(t);
  const a = await store.register({ nodeName: 'Node-A', node, services: [svc('web1')], checks: [{ check: chk('c1', 'web1'), status: 'critical', output: '', keep: true, ttlMs: 0 }] });
  t.true(a.changed);
  const b = await store.register({ nodeName: 'Node-A', node, services: [svc('web1')], checks: [{ check: chk('c1', 'web1'), status: 'critical', output: '', keep: true, ttlMs: 0 }] });
  t.false(b.changed);
  t.is(b.index, a.index);
  const st = await store.loadNode('node-a');
  t.truthy(st);
  t.is(st!.services.get('web1')!.CreateIndex, a.index);
  t.is(st!.checks.get('c1')!.Status, 'critical');
  const c = await store.register({ nodeName: 'Node-A', node, services: [svc('web1', 81)], checks: [] });
  t.true(c.changed);
  const st2 = await store.loadNode('node-a');
  t.is(st2!.services.get('web1')!.CreateIndex, a.index);
  t.is(st2!.services.get('web1')!.ModifyIndex, c.index);
});

test('store: check updates bump the index only on a real change; output-only changes are deferred', async t => {
  const { store } = await setup(t);
  await store.register({ nodeName: 'Node-A', node, services: [svc('web1')], checks: [{ check: chk('c1', 'web1'), status: 'critical', output: '', keep: true, ttlMs: 0 }] });
  const u1 = await store.updateCheck('Node-A', 'c1', 'passing', 'ok', { ttlMs: 1000, outputIntervalMs: 60000 });
  t.is(u1.result, 'written');
  t.is((await store.updateCheck('Node-A', 'c1', 'passing', 'ok', { ttlMs: 1000 })).result, 'unchanged');
  t.is((await store.updateCheck('Node-A', 'c1', 'passing', 'ok2', { ttlMs: 1000, outputIntervalMs: 60000 })).result, 'deferred');
  t.is((await store.updateCheck('Node-A', 'nope', 'passing', '', {})).result, 'unknown');
  const st = await store.loadNode('Node-A');
  t.is(st!.checks.get('c1')!.Output, 'ok');
});

test('store: TTL deadlines expire to critical through sweep, with Consul\'s "TTL expired" output', async t => {
  const { store } = await setup(t);
  await store.register({ nodeName: 'Node-A', node, services: [svc('web1')], checks: [
    { check: chk('c1', 'web1'), status: 'critical', output: '', keep: true, ttlMs: 0 },
    { check: chk('c2', 'web1'), status: 'critical', output: '', keep: true, ttlMs: 0 },
    { check: chk('c3', 'web1'), status: 'critical', output: '', keep: true, ttlMs: 0 },
  ] });
  await store.updateCheck('Node-A', 'c1', 'passing', 'alive', { ttlMs: 200 });
  await store.updateCheck('Node-A', 'c2', 'passing', '', { ttlMs: 200 });
  // c3: the last output is still deferred (output-only change inside the output interval) when the TTL runs out.
  await store.updateCheck('Node-A', 'c3', 'passing', 'first', { ttlMs: 200, outputIntervalMs: 400 });
  t.is((await store.updateCheck('Node-A', 'c3', 'passing', 'second', { ttlMs: 200, outputIntervalMs: 400 })).result, 'deferred');
  t.false((await store.sweep()).changed);
  await new Promise(r => setTimeout(r, 300));
  t.true((await store.sweep()).changed);
  const checks = (await store.loadNode('Node-A'))!.checks;
  t.like(checks.get('c1'), { Status: 'critical', Output: 'TTL expired (last output before timeout follows): alive' });
  t.like(checks.get('c2'), { Status: 'critical', Output: 'TTL expired' });
  t.like(checks.get('c3'), { Status: 'critical', Output: 'TTL expired (last output before timeout follows): second' });
  // Nothing deferred is left to overwrite the expiry once its output interval is over.
  await new Promise(r => setTimeout(r, 250));
  await store.sweep();
  t.is((await store.loadNode('Node-A'))!.checks.get('c3')!.Output, 'TTL expired (last output before timeout follows): second');
});

test('store: deregistering a service removes its checks; a node removes everything; events are appended to the change log', async t => {
  const { store, redis } = await setup(t);
  await store.register({ nodeName: 'Node-A', node, services: [svc('web1'), svc('web2')], checks: [{ check: chk('c1', 'web1'), status: 'passing', output: '', keep: true, ttlMs: 0 }, { check: chk('n1', ''), status: 'passing', output: '', keep: true, ttlMs: 0 }] });
  t.true((await store.deregister('Node-A', 'service', 'web1')).found);
  t.false((await store.deregister('Node-A', 'service', 'web1')).found);
  let st = await store.loadNode('Node-A');
  t.deepEqual([...st!.services.keys()], ['web2']);
  t.deepEqual([...st!.checks.keys()], ['n1']);
  t.true((await store.deregister('Node-A', 'node')).found);
  st = await store.loadNode('Node-A');
  t.is(st, null);
  const events = (await redis.xrange(keysFor('dc1').stream, '-', '+')).map(([, f]) => f[1]!);
  t.is(events.length, 3);
  t.deepEqual(events.map(e => JSON.parse(e).r), [1, 2, 3], 'one entry per change, revisions without a hole');
  const ev = JSON.parse(events[0]!);
  t.deepEqual(ev.n, ['node-a']);
  t.deepEqual(ev.s, ['web']);
  // Per-node delta: the removed service and its check, not the whole node.
  t.is(ev.d[0].f, 1);
  t.deepEqual(JSON.parse(events[1]!).d, [{ n: 'node-a', f: 0, s: ['web1'], c: ['c1'] }]);
  t.is(JSON.parse(events[2]!).d[0].f, 1);
  const snap = await store.loadAll();
  t.is(snap.states.length, 0);
  t.is(snap.crev, 3);
});
