/**
 * The change log (issue 12 §3), with a real redis-server and the real syncer: a dropped reader
 * connection catches up from its last position without a full reload; a log trimmed past the
 * reader's position, a flushed Redis and a changed epoch each force exactly the reload they need.
 */
import test from 'ava';
import { Redis } from 'ioredis';
import { testRedis } from './helpers/redis.ts';
import { until } from './helpers/wait.ts';
import { CatalogStore } from '../src/store/catalog-store.ts';
import { keysFor } from '../src/store/keys.ts';
import { CatalogView } from '../src/catalog/view.ts';
import { CatalogSyncer } from '../src/catalog/syncer.ts';
import { CHANGE_LOG_CLIENT } from '../src/store/change-log.ts';
import type { CheckBody } from '../src/store/codec.ts';
import type { SliceOptions } from '../src/util/slices.ts';

const nodeBody = (name: string) => ({ ID: '', Node: name, Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} });
const svc = (id: string, name = 'web') => ({ ID: id, Service: name, Tags: [], Address: '', Meta: {}, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false });
const chk = (node: string, id: string, sid: string): CheckBody => ({ Node: node, CheckID: id, Name: id, Notes: '', ServiceID: sid, ServiceName: sid ? 'web' : '', ServiceTags: [], Type: 'ttl', Interval: '', Timeout: '', ExposedPort: 0, Definition: { TTL: '1m' } });

async function setup(t: { teardown(fn: () => unknown): void }, opts: { resyncIntervalMs?: number; slices?: SliceOptions } = {}) {
  const r = await testRedis();
  const redis = new Redis(r.url);
  const admin = new Redis(r.url);
  const keys = keysFor('dc1');
  const store = new CatalogStore(redis, keys);
  const view = new CatalogView();
  const syncer = new CatalogSyncer(store, view, { resyncIntervalMs: opts.resyncIntervalMs ?? 3_600_000, blockMs: 1000, slices: opts.slices });
  t.teardown(async () => { await syncer.stop(); redis.disconnect(); admin.disconnect(); await r.stop(); });
  for (let i = 0; i < 20; i++) await store.register({ nodeName: `n${i}`, node: nodeBody(`n${i}`), services: [svc(`w${i}`)], checks: [{ check: chk(`n${i}`, `c${i}`, `w${i}`), status: 'passing', output: '', keep: false, ttlMs: 0 }] });
  await syncer.start();
  // The scripts' KEYS, for writes issued inside a MULTI (so that a trim can land in the same step).
  const scriptKeys = [keys.index, keys.crev, keys.nodes, keys.tables, keys.serviceIndex, keys.stream, keys.ttl, keys.checkState, keys.outq];
  return { r, redis, admin, keys, store, view, syncer, scriptKeys };
}

/** Kills the change log reader's connections (found by client name); returns how many. */
async function killReaders(admin: Redis): Promise<number> {
  const list = String(await admin.call('CLIENT', 'LIST'));
  const ids = list.split('\n').filter(l => l.includes(` name=${CHANGE_LOG_CLIENT} `)).map(l => /id=(\d+)/.exec(l)![1]!);
  for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id);
  return ids.length;
}

test('change log: a killed reader connection catches up from its last position, without a full reload', async t => {
  const { admin, store, view, syncer } = await setup(t);
  t.is(syncer.reloads, 1, 'the initial load');
  for (let round = 0; round < 3; round++) {
    t.is(await killReaders(admin), 1);
    // Writes while the reader is away (it reconnects after ≥ 50 ms): they are in the log, not seen yet.
    let last = 0;
    for (let i = 0; i < 20; i++) last = (await store.updateCheck(`n${i}`, `c${i}`, round % 2 ? 'passing' : 'critical', `round ${round}`)).index;
    t.true(await syncer.waitFor(last, 5000), `round ${round}: every write applied`);
    for (let i = 0; i < 20; i++) t.is(view.node(`n${i}`)!.checks.get(`c${i}`)!.Output, `round ${round}`);
  }
  // The reconnect check (revision and epoch) found nothing to reload for.
  await new Promise(r => setTimeout(r, 300));
  t.is(syncer.reloads, 1, 'no full reload after three dropped connections');
  t.true(syncer.reader.stats.entries >= 60, 'the missed changes came from the log');
});

test('change log: entries trimmed past the reader\'s position force one reload, which brings the view up to date', async t => {
  const { redis, keys, store, view, syncer, scriptKeys } = await setup(t);
  // 20 check flips and a trim to the last 2 entries in one MULTI: the blocked reader is served after it,
  // and finds its next revision gone.
  const m = redis.multi();
  for (let i = 0; i < 20; i++) m.call('EVALSHA', await scriptSha(redis), scriptKeys.length, ...scriptKeys, keys.prefix, `n${i}`, `c${i}`, 'critical', JSON.stringify('trimmed'), 0, 0);
  m.xtrim(keys.stream, 'MAXLEN', 2);
  const res = (await m.exec())!;
  for (const [err] of res) t.is(err, null);
  const last = (res[19]![1] as [number, number])[0];
  t.true(await syncer.waitFor(last, 5000));
  await until('the reload', async () => syncer.reloads === 2);
  for (let i = 0; i < 20; i++) t.is(view.node(`n${i}`)!.checks.get(`c${i}`)!.Status, 'critical', `n${i} up to date`);
  // And the log is followed again afterwards, without another reload.
  const next = await store.updateCheck('n0', 'c0', 'passing', 'after');
  t.true(await syncer.waitFor(next.index, 5000));
  t.is(view.node('n0')!.checks.get('c0')!.Status, 'passing');
  t.is(syncer.reloads, 2);
});

/** The SHA of the updateCheck script as loaded by the store (the only script whose first args are node, check). */
async function scriptSha(redis: Redis): Promise<string> {
  const { luaSource } = await import('../src/store/script.ts');
  return String(await redis.call('SCRIPT', 'LOAD', luaSource('updateCheck-9.lua')));
}

test('change log: a FLUSHALL forces an authoritative reload, with or without writes after it', async t => {
  const { admin, store, view, syncer } = await setup(t, { resyncIntervalMs: 200 });
  t.is(view.instances('web').length, 20);
  // Flushed, then one registration: the log restarts at revision 1, below what the reader had.
  await admin.flushall();
  const a = await store.register({ nodeName: 'fresh', node: nodeBody('fresh'), services: [svc('f1', 'api')], checks: [] });
  await until('the reload', async () => syncer.reloads === 2 && view.node('fresh') !== undefined);
  t.is(view.instances('web').length, 0, 'nothing from before the flush is kept (its indexes were higher)');
  t.deepEqual(view.instances('api').map(i => i.service.ID), ['f1']);
  t.true(await syncer.waitFor(a.index, 5000));
  // Flushed again with no write after it: the safety net sees Redis's revision below the view's.
  await admin.flushall();
  await until('the second reload', async () => syncer.reloads === 3);
  t.is(view.node('fresh'), undefined);
  t.is([...view.nodes()].length, 0);
});

test('change log: an epoch change (a restore) replaces the view authoritatively, even with older records', async t => {
  const { redis, admin, keys, store, view, syncer } = await setup(t, { resyncIntervalMs: 200 });
  const before = await admin.hgetall(keys.checks('n3'));
  const w = await store.updateCheck('n3', 'c3', 'critical', 'newer');
  t.true(await syncer.waitFor(w.index, 5000));
  t.is(view.node('n3')!.checks.get('c3')!.Status, 'critical');
  // A "restore" of the older record (lower ModifyIndex) behind the agents' backs, with the epoch bumped in the same step.
  await redis.multi().hset(keys.checks('n3'), before).incr(keys.epoch).exec();
  await until('the authoritative reload', async () => syncer.reloads === 2);
  t.is(view.node('n3')!.checks.get('c3')!.Status, 'passing', 'an index merge would have kept the newer record; the epoch rule replaces it');
});

test('change log: a log entry carrying a new epoch is acted on as it is read (no safety-net tick needed)', async t => {
  const { redis, admin, keys, view, syncer } = await setup(t);
  const before = await admin.hgetall(keys.checks('n4'));
  await redis.hset(keys.checks('n4'), 'c4', before.c4!.replace('passing', 'warning'));
  await redis.multi().incr(keys.epoch).xadd(keys.stream, '*', 'epoch', '1').exec();
  await until('the reload from the log entry', async () => syncer.reloads === 2);
  t.is(view.node('n4')!.checks.get('c4')!.Status, 'warning');
});

test('change log: writes applied while an authoritative reload is built beside the view are served at once and survive the swap', async t => {
  let during: (() => Promise<void>) | null = null;
  // Slices of 5 nodes, one per turn; the first turn of the reset waits until two writes made then are applied.
  const yieldTurn = async () => { const f = during; during = null; if (f) await f(); await new Promise<void>(r => setImmediate(r)); };
  const { redis, keys, store, view, syncer } = await setup(t, { slices: { budgetMs: 0, step: 5, yieldTurn } });
  let index = 0;
  during = async () => {
    t.true(view.resetting, 'the reset is being built');
    const a = await store.register({ nodeName: 'late', node: nodeBody('late'), services: [svc('p1', 'probe')], checks: [] });
    const b = await store.updateCheck('n3', 'c3', 'critical', 'during the reset');
    index = Math.max(a.index, b.index);
    t.true(await syncer.waitFor(index, 5000), 'the watermark covers them while the reset is built');
    t.is(view.instances('probe').length, 1, 'the serving view has the new node at once');
  };
  const changes: boolean[] = [];
  view.on('change', c => changes.push(c.all));
  await redis.multi().incr(keys.epoch).xadd(keys.stream, '*', 'epoch', '1').exec();
  await until('the authoritative reload', async () => syncer.reloads === 2 && !view.resetting);
  t.is(during as unknown, null, 'the reset was sliced');
  t.is(view.instances('probe').length, 1, 'a registration made during the reset survives the swap');
  t.is(view.node('n3')!.checks.get('c3')!.Status, 'critical', 'a check update made during the reset survives the swap');
  t.is(view.nodeCount, 21);
  t.true(syncer.watermark >= index);
  t.is(changes.filter(all => all).length, 1, 'the swap emits one change naming everything');
});

test('change log: concurrent writers never set off a full reload', async t => {
  const { r, store, view, syncer } = await setup(t);
  const writers = [new Redis(r.url), new Redis(r.url)];
  t.teardown(() => { for (const w of writers) w.disconnect(); });
  let last = 0;
  await Promise.all(writers.map(async (w, k) => {
    const s = new CatalogStore(w, keysFor('dc1'));
    for (let round = 0; round < 10; round++) {
      const res = await Promise.all(Array.from({ length: 20 }, (_, i) => s.updateCheck(`n${i}`, `c${i}`, (round + k) % 2 ? 'passing' : 'critical', `w${k} r${round}`)));
      last = Math.max(last, ...res.map(x => x.index));
    }
  }));
  t.true(await syncer.waitFor(last, 10_000));
  const fresh = await store.loadAll();
  for (const st of fresh.states) t.is(view.node(st.node.Node)!.checks.get(`c${st.node.Node.slice(1)}`)!.Output, st.checks.get(`c${st.node.Node.slice(1)}`)!.Output);
  t.is(syncer.reloads, 1, 'only the initial load');
});
