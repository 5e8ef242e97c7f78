/**
 * The npm `consul` package (2.0.1, CommonJS, default export = class Consul) against a real agent:
 * register with checks → health → deregister, KV CAS and recursive reads, session lock contention
 * between two clients, and consul.watch() waking on a change of its key and not otherwise.
 */
import test from 'ava';
import { createRequire } from 'node:module';
import { startAgent, type TestAgent } from './helpers/agent.ts';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const Consul = require('consul') as new (o: { host: string; port: number }) => any;

let agent: TestAgent;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let c: any;
test.before(async () => {
  agent = await startAgent(null);
  c = new Consul({ host: '127.0.0.1', port: agent.httpPort });
});
test.after.always(async () => { await agent?.stop(); });

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

test('npm consul: register with checks → health → deregister', async t => {
  await c.agent.service.register({ name: 'npm-web', id: 'npm-web-1', port: 8080, tags: ['a'], checks: [{ ttl: '30s' }, { name: 'tcp', tcp: '127.0.0.1:1', interval: '10s' }] });
  await c.agent.service.register({ name: 'npm-web', id: 'npm-web-2', port: 8081, check: { ttl: '30s', status: 'passing' } });
  const list = await c.agent.service.list();
  t.deepEqual(list['npm-web-1'].Tags, ['a']);
  const checks = await c.agent.check.list();
  t.truthy(checks['service:npm-web-1:1']);
  t.truthy(checks['service:npm-web-1:2']);
  await c.agent.check.pass({ id: 'service:npm-web-1:1', note: 'ok' });
  const all = await c.health.service('npm-web');
  t.is(all.length, 2);
  const passing = await c.health.service({ service: 'npm-web', passing: true });
  t.deepEqual(passing.map((e: { Service: { ID: string } }) => e.Service.ID), ['npm-web-2']);
  const nodes = await c.catalog.service.nodes('npm-web');
  t.is(nodes.length, 2);
  t.truthy((await c.catalog.service.list())['npm-web']);
  await c.agent.service.deregister('npm-web-1');
  await c.agent.service.deregister({ id: 'npm-web-2' });
  t.deepEqual(await c.health.service('npm-web'), []);
  t.is((await c.agent.members()).length, 1);
  t.is(await c.status.leader(), '127.0.0.1:8300');
});

// papi resolves a JSON `false` body as undefined (its pipeline treats a falsy value as "none"),
// against Consul as well; so refusals are asserted with falsy and success with true.
test('npm consul: KV CAS and recursive reads', async t => {
  t.true(await c.kv.set('npm/a/b', 'one'));
  const e = await c.kv.get('npm/a/b');
  t.is(e.Value, 'one');
  t.falsy(await c.kv.set({ key: 'npm/a/b', value: 'two', cas: 0 }));
  t.falsy(await c.kv.set({ key: 'npm/a/b', value: 'two', cas: e.ModifyIndex + 1000 }));
  t.true(await c.kv.set({ key: 'npm/a/b', value: 'two', cas: e.ModifyIndex }));
  await c.kv.set({ key: 'npm/a/c', value: 'three', flags: 9 });
  const rec = await c.kv.get({ key: 'npm/', recurse: true });
  t.deepEqual(rec.map((x: { Key: string }) => x.Key), ['npm/a/b', 'npm/a/c']);
  t.is(rec[1].Flags, 9);
  t.deepEqual(await c.kv.keys({ key: 'npm/', separator: '/' }), ['npm/a/']);
  t.is(await c.kv.get('npm/missing'), undefined);
  t.is(String(await c.kv.get({ key: 'npm/a/b', raw: true })), 'two');
  t.true(await c.kv.del({ key: 'npm/a/b', cas: (await c.kv.get('npm/a/b')).ModifyIndex }));
  t.true(await c.kv.del({ key: 'npm/', recurse: true }));
  t.is(await c.kv.get({ key: 'npm/', recurse: true }), undefined);
});

test('npm consul: session lock contention between two clients', async t => {
  const c2 = new Consul({ host: '127.0.0.1', port: agent.httpPort });
  const s1 = (await c.session.create({ name: 'one', ttl: '15s', lockdelay: '1ms' })).ID;
  const s2 = (await c2.session.create({ name: 'two', behavior: 'delete', lockdelay: '1ms' })).ID;
  t.true(await c.kv.set({ key: 'npmlock/leader', value: 'one', acquire: s1 }));
  t.falsy(await c2.kv.set({ key: 'npmlock/leader', value: 'two', acquire: s2 }));
  t.is((await c2.kv.get('npmlock/leader')).Session, s1);
  const renewed = await c.session.renew(s1);
  t.is(renewed[0].ID, s1);
  await c.session.destroy(s1);
  await sleep(10);
  t.true(await c2.kv.set({ key: 'npmlock/leader', value: 'two', acquire: s2 }));
  t.is((await c.session.info(s2)).Behavior, 'delete');
  t.true((await c.session.list()).some((s: { ID: string }) => s.ID === s2));
  t.true((await c.session.node(agent.node)).some((s: { ID: string }) => s.ID === s2));
  await c2.session.destroy(s2);
  t.is(await c.kv.get('npmlock/leader'), undefined);
});

test('npm consul: watch wakes on a change of its key, not otherwise', async t => {
  await c.kv.set('npmw/key', 'v1');
  const w = c.watch({ method: c.kv.get, options: { key: 'npmw/key', wait: '10s' } });
  const seen: string[] = [];
  w.on('change', (data: { Value: string }) => seen.push(data.Value));
  w.on('error', (err: Error) => t.log('watch error', err.message));
  t.teardown(() => w.end());
  for (let i = 0; i < 50 && seen.length < 1; i++) await sleep(50);
  t.deepEqual(seen, ['v1']);
  await c.kv.set('npmw/other', 'x');
  await c.kv.set('npmw/key', 'v1');
  await sleep(700);
  t.deepEqual(seen, ['v1'], 'no change event for another key or an identical write');
  const t0 = Date.now();
  await c.kv.set('npmw/key', 'v2');
  for (let i = 0; i < 100 && seen.length < 2; i++) await sleep(20);
  t.deepEqual(seen, ['v1', 'v2']);
  t.true(Date.now() - t0 < 2000, 'woken by the write, not by the 10 s wait');
  await c.event.fire('npm-ev', 'body');
  t.is((await c.event.list({ name: 'npm-ev' }))[0].Name, 'npm-ev');
});
