/**
 * The change hints stream (issue 12 §3), with a real redis-server and the real reader
 * (src/store/hint-log.ts): KV, session, user-event and ACL writes append a hint in their own script; a
 * dropped reader connection catches up from its last ID without falling back; a stream trimmed past
 * the reader, deleted, flushed or restored (a new epoch) falls back to "everything may have changed"
 * exactly once. Agent-level cases (two agents, blocking queries, ACL enforcement) are in
 * change-hints-agents.test.ts.
 */
import test from 'ava';
import { Redis } from 'ioredis';
import { testRedis } from './helpers/redis.ts';
import { until, sleep } from './helpers/wait.ts';
import { keysFor, type Keys } from '../src/store/keys.ts';
import { KvStore, kvScriptKeys } from '../src/store/kv-store.ts';
import { SessionStore } from '../src/store/session-store.ts';
import { EventStore } from '../src/store/event-store.ts';
import { AclStore } from '../src/store/acl-store.ts';
import { HintLog, HINTS_CLIENT } from '../src/store/hint-log.ts';
import { luaSource } from '../src/store/script.ts';

async function setup(t: { teardown(fn: () => unknown): void }, opts: { checkIntervalMs?: number } = {}) {
  const r = await testRedis();
  const redis = new Redis(r.url);
  const admin = new Redis(r.url);
  const keys = keysFor('dc1');
  const kv = new KvStore(redis, keys);
  const hints = new HintLog(redis, keys, { blockMs: 1000, deadlineMs: 2000, checkIntervalMs: opts.checkIntervalMs ?? 3_600_000 });
  const seen: string[] = [];
  const acl: string[] = [];
  const lost: string[] = [];
  await kv.set('before', Buffer.from('x')); // a write before start: not handed on
  await hints.start();
  hints.on('kv', v => seen.push(v));
  hints.on('acl', v => acl.push(v));
  hints.onLost(why => lost.push(why));
  t.teardown(async () => { await hints.stop(); redis.disconnect(); admin.disconnect(); await r.stop(); });
  return { r, redis, admin, keys, kv, hints, seen, acl, lost };
}

/** Kills the hints reader's connections (found by client name); returns how many. */
async function killReaders(admin: Redis): Promise<number> {
  const list = String(await admin.call('CLIENT', 'LIST'));
  const ids = list.split('\n').filter(l => l.includes(` name=${HINTS_CLIENT} `)).map(l => /id=(\d+)/.exec(l)![1]!);
  for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id);
  return ids.length;
}

/** The kvSet script's EVALSHA arguments (for writes inside a MULTI, so that a trim lands in the same step). */
async function kvSetCall(redis: Redis, keys: Keys, key: string, value: string): Promise<(string | number)[]> {
  const sha = String(await redis.call('SCRIPT', 'LOAD', luaSource('kvSet-14.lua')));
  const ks = kvScriptKeys(keys);
  return [sha, ks.length, ...ks, keys.prefix, key, value, '0', 'set', 0, ''];
}

const keysOf = (seen: string[]) => seen.flatMap(v => (JSON.parse(v) as { k?: string[] }).k ?? []);

test('hints: KV, session, user-event and ACL writes each append one hint in order; a no-op write appends none', async t => {
  const { redis, keys, kv, seen, acl, lost } = await setup(t);
  const w1 = await kv.set('a', Buffer.from('1'));
  await kv.set('a', Buffer.from('1')); // no-op: no index, no hint
  const w2 = await kv.set('b', Buffer.from('2'));
  await redis.hset(keys.nodes, 'n1', '1\n1\n{}');
  await new SessionStore(redis, keys).create({ ID: 's1', Name: '', Node: 'n1', LockDelay: 0, Behavior: 'release', TTL: '', NodeChecks: null, ServiceChecks: null, _node: 'n1', _ttlMs: 0, _lockDelayMs: 0, _checks: [] });
  await new EventStore(redis, keys).record({ ID: '00000000-0000-4000-8000-000000000001', LTime: 0 }, true);
  const aclStore = new AclStore(redis, keys);
  await aclStore.init();
  await aclStore.putPolicy('create', { ID: 'p1', Name: 'p1', Description: '', Rules: '', Datacenters: null, Hash: 'x' } as never);
  await until('every hint', async () => seen.length === 4 && acl.length === 1);
  t.deepEqual(seen.slice(0, 2).map(v => JSON.parse(v)), [{ i: w1.index, k: ['a'] }, { i: w2.index, k: ['b'] }]);
  t.like(JSON.parse(seen[2]!), { s: 1 });
  t.like(JSON.parse(seen[3]!), { e: 1 });
  t.is(acl[0], String(await aclStore.rev()));
  t.false(keysOf(seen).includes('before'), 'a write before start is not handed on');
  // r runs 1, 2, 3... in the stream (the first write, before start, was 1).
  const rs = (await redis.xrange(keys.hints, '-', '+')).map(([, f]) => Number(f[1]));
  t.deepEqual(rs, [1, 2, 3, 4, 5, 6]);
  t.deepEqual(lost, []);
});

test('hints: a killed reader connection catches up from its last ID, without falling back', async t => {
  const { admin, kv, hints, seen, lost } = await setup(t);
  for (let round = 0; round < 3; round++) {
    t.is(await killReaders(admin), 1);
    // Writes while the reader is away (it reconnects after ≥ 50 ms): they are in the stream, not heard yet.
    for (let i = 0; i < 20; i++) await kv.set(`r${round}/k${i}`, Buffer.from(String(round)));
    await until(`round ${round}: every write heard`, async () => keysOf(seen).filter(k => k.startsWith(`r${round}/`)).length === 20);
  }
  await sleep(300); // the reconnect checks found nothing to fall back for
  t.deepEqual(lost, []);
  t.is(hints.stats.lost, 0);
  t.deepEqual(keysOf(seen), [0, 1, 2].flatMap(r => Array.from({ length: 20 }, (_, i) => `r${r}/k${i}`)), 'each once, in order');
});

test('hints: entries trimmed past the reader\'s position fall back once, then the stream is followed again', async t => {
  const { redis, keys, kv, seen, lost } = await setup(t);
  const m = redis.multi();
  for (let i = 0; i < 20; i++) m.call('EVALSHA', ...(await kvSetCall(redis, keys, `t/k${i}`, 'v')));
  m.xtrim(keys.hints, 'MAXLEN', 2);
  for (const [err] of (await m.exec())!) t.is(err, null);
  await until('the fallback', async () => lost.length === 1);
  t.regex(lost[0]!, /entries trimmed \(1 → 20\)/);
  await kv.set('after', Buffer.from('x'));
  await until('the next write', async () => keysOf(seen).includes('after'));
  t.is(lost.length, 1);
});

test('hints: a deleted stream falls back at the next write', async t => {
  const { redis, keys, kv, seen, lost } = await setup(t);
  await kv.set('a', Buffer.from('1'));
  await until('a', async () => keysOf(seen).includes('a'));
  await redis.del(keys.hints);
  await kv.set('b', Buffer.from('2'));
  await until('the fallback', async () => lost.length === 1);
  t.regex(lost[0]!, /stream recreated \(2 → 1\)/);
  await kv.set('c', Buffer.from('3'));
  await until('c', async () => keysOf(seen).includes('c'));
  t.is(lost.length, 1);
});

test('hints: a FLUSHALL falls back, at the next write or else at the next check', async t => {
  const { admin, kv, seen, lost } = await setup(t, { checkIntervalMs: 200 });
  await kv.set('a', Buffer.from('1'));
  await until('a', async () => keysOf(seen).includes('a'));
  await sleep(500);
  t.deepEqual(lost, [], 'checks with nothing changed find nothing');
  await admin.flushall();
  await until('the check falls back (no write needed)', async () => lost.length === 1, 3000);
  t.regex(lost[0]!, /stream went back \(2 → 0\)/);
  // Followed again from the new stream's start.
  await kv.set('b', Buffer.from('2'));
  await until('b', async () => keysOf(seen).includes('b'));
  t.is(lost.length, 1);
  // Flushed again, with a write at once: the write's r (1) is not above the last (1).
  await admin.flushall();
  await kv.set('c', Buffer.from('3'));
  await until('the second fallback', async () => lost.length === 2, 3000);
});

test('hints: a restore\'s entry (a new epoch) falls back as it is read; an epoch changed without one, at the next check', async t => {
  const { redis, keys, lost } = await setup(t, { checkIntervalMs: 200 });
  const restored = await redis.incr(keys.epoch);
  // What snapshotCommit appends (src/store/scripts/snapshotCommit-11.lua).
  await redis.xadd(keys.hints, '*', 'r', 2, 'epoch', restored, 'kv', '{"i":99,"s":1,"e":1,"a":1}');
  await until('the fallback', async () => lost.length === 1, 3000);
  t.regex(lost[0]!, /snapshot restored \(epoch 0 → 1\)/);
  await sleep(500);
  t.is(lost.length, 1, 'the check agrees with the epoch read from the stream');
  await redis.incr(keys.epoch);
  await until('the check falls back', async () => lost.length === 2, 3000);
  t.regex(lost[1]!, /epoch changed \(1 → 2\)/);
});

test('hints: malformed entries and a throwing handler never stop the reader', async t => {
  const { redis, keys, kv, hints, seen, lost } = await setup(t);
  hints.on('kv', v => { if (v === 'boom') throw new Error('handler bug'); });
  await redis.xadd(keys.hints, '*', 'x', 'no r field');
  await until('the malformed entry falls back', async () => lost.length === 1);
  t.is(lost[0], 'malformed entry');
  await redis.xadd(keys.hints, '*', 'r', 2, 'kv', 'boom'); // r follows on from the last good one (1)
  await redis.xadd(keys.hints, '*', 'r', 3, 'kv', '{not json');
  await kv.set('still', Buffer.from('x')); // r 4
  await until('the next real hint', async () => seen.some(v => v.includes('"still"')));
  t.deepEqual(seen.slice(0, 2), ['boom', '{not json'], 'handed on as they are; the KV side drops what it cannot parse');
  t.is(lost.length, 1);
});
