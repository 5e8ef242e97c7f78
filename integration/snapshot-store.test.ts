/**
 * SnapshotStore against a real redis-server: what a snapshot holds and leaves out, and what the
 * atomic restore does to counters, deadlines, queues and streams.
 */
import test from 'ava';
import { Redis } from 'ioredis';
import { testRedis } from './helpers/redis.ts';
import { keysFor } from '../src/store/keys.ts';
import { CatalogStore } from '../src/store/catalog-store.ts';
import { SnapshotStore } from '../src/store/snapshot-store.ts';
import { encodeSnapshot, SnapshotError } from '../src/store/snapshot-format.ts';

const k = keysFor('dc1');

async function setup(t: { teardown(fn: () => unknown): void }) {
  const r = await testRedis();
  const redis = new Redis(r.url);
  t.teardown(async () => { redis.disconnect(); await r.stop(); });
  const store = new CatalogStore(redis, k);
  await store.register({
    nodeName: 'n1', node: { ID: '', Node: 'n1', Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} },
    services: [{ ID: 'web1', Service: 'web', Tags: [], Address: '', Meta: {}, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false }],
    checks: [{ check: { Node: 'n1', CheckID: 'ttl1', Name: 'ttl', Notes: '', ServiceID: 'web1', ServiceName: 'web', ServiceTags: [], Type: 'ttl', Interval: '', Timeout: '', ExposedPort: 0, Definition: {} } as never, status: 'passing', output: '', keep: false, ttlMs: 30_000 }],
  });
  return { redis, store, snaps: new SnapshotStore(redis, k, 'dc1') };
}
const bytes = async (s: Awaited<ReturnType<SnapshotStore['save']>>) => Buffer.concat(await encodeSnapshot(s.header, s.entries).toArray());
async function* chunks(b: Buffer) { yield b; }

test('snapshot-store: a save holds the DC\'s data, not its counters, leases, queues, streams or other DCs', async t => {
  const { redis, snaps } = await setup(t);
  await redis.set(`${k.prefix}:reconciler`, 'agent-a', 'PX', 30_000);
  await redis.set(`${k.bullPrefix}:checks:meta`, 'x');
  await redis.xadd(`${k.prefix}:changes`, '*', 'i', '1');
  await redis.hset('roster:{dc2}:nodes', 'other', 'x');
  const s = await snaps.save();
  const names = s.entries.filter((_, i) => i % 2 === 0).map(String).sort();
  t.deepEqual(names, ['chk:n1', 'nodes', 'svc:n1', 'svcidx', 'tables', 'ttl']);
  t.is(s.header.index, Number(await redis.get(k.index)));
  t.deepEqual(s.header.counts, { nodes: 1, services: 1, checks: 1, kv: 0, sessions: 0, acl: 0, query: 0 });
});

test('snapshot-store: a restore sets the index above everything seen, bumps crev and the epoch, shifts deadlines, and leaves queues and streams alone', async t => {
  const { redis, store, snaps } = await setup(t);
  await redis.hset(k.kv, 'cfg/a', '3\n4\n0\n0\n\nva\nlue');
  const s = await snaps.save();
  const ttlBefore = Number(await redis.zscore(k.ttl, 'n1\0ttl1'));
  // The snapshot was "taken" 60 s ago by Redis's clock: deadlines move forward by as much.
  s.header.redisTimeMs -= 60_000;
  const file = await bytes(s);
  await store.deregister('n1', 'node');
  await redis.set(`${k.bullPrefix}:checks:meta`, 'queue');
  await redis.xadd(`${k.prefix}:changes`, '*', 'i', '9');
  const crev = Number(await redis.get(k.crev));
  const sub = new Redis(redis.options);
  t.teardown(() => sub.disconnect());
  const events: string[] = [];
  sub.on('message', (_c, m) => events.push(m));
  await sub.subscribe(k.events);
  const res = await snaps.restore(chunks(file), 500);
  t.is(res.index, 501, 'above the floor the caller has seen');
  t.is(Number(await redis.get(k.index)), 501);
  t.is(Number(await redis.get(k.crev)), crev + 1);
  t.is(res.epoch, 1);
  t.is(await redis.get(k.epoch), '1');
  t.deepEqual(await redis.hgetall(k.tables), { nodes: '501', services: '501', checks: '501', kv: '501', sessions: '501' });
  t.is(await redis.hget(k.serviceIndex, 'web'), '501');
  t.truthy(await store.loadNode('n1'));
  t.is(await redis.hget(k.kv, 'cfg/a'), '3\n501\n0\n0\n\nva\nlue', 'KV entries are stamped modified at the restore');
  const shifted = Number(await redis.zscore(k.ttl, 'n1\0ttl1'));
  t.true(shifted - ttlBefore >= 60_000 && shifted - ttlBefore < 70_000, `TTL deadline shifted by ${shifted - ttlBefore} ms`);
  t.is(await redis.get(`${k.bullPrefix}:checks:meta`), 'queue');
  t.is(await redis.xlen(`${k.prefix}:changes`), 1);
  t.is(await redis.ttl(k.nodes), -1, 'restored keys are persistent');
  await new Promise(r => setTimeout(r, 100));
  t.deepEqual(events.map(e => JSON.parse(e)), [{ i: 501, r: crev + 1, n: [], s: [], t: 'nsc', d: [], x: 1 }]);
  // Without a floor, the index is max(current, restored) + 1.
  const again = await snaps.restore(chunks(file));
  t.is(again.index, 502);
  t.is(again.epoch, 2);
});

test('snapshot-store: a refused restore deletes what it staged and changes nothing', async t => {
  const { redis, snaps } = await setup(t);
  const s = await snaps.save();
  await redis.set('scratch', 'v');
  const dump = await redis.dumpBuffer('scratch');
  await redis.del('scratch');
  // 300 valid keys first (staged in batches before the bad one arrives), then a name Roster never saves.
  for (let i = 0; i < 300; i++) s.entries.push(`junk:${i}`, dump);
  s.entries.push('restore:abc:x', Buffer.from('x'));
  s.header.keys = s.entries.length / 2;
  const before = JSON.stringify([(await redis.keys('*')).sort(), await redis.get(k.index), await redis.get(k.epoch)]);
  const err = await t.throwsAsync(snaps.restore(chunks(await bytes(s))), { instanceOf: SnapshotError });
  t.regex(err!.message, /^snapshot holds a key Roster never saves/);
  t.is(JSON.stringify([(await redis.keys('*')).sort(), await redis.get(k.index), await redis.get(k.epoch)]), before);
});
