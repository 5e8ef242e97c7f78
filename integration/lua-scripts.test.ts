/**
 * The Lua scripts of src/store/scripts, run on a real redis-server: each file has its header and
 * compiles; the threshold rule (checkResult-1.lua, the one that runs: there is no TypeScript twin);
 * the gossip lease; and the key builders generated from keys.ts.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { testRedis } from './helpers/redis.ts';
import { defineScript, luaSource } from '../src/store/script.ts';
import { thresholdsOf } from '../src/checks/status-handler.ts';
import { keysFor } from '../src/store/keys.ts';
import type { HealthStatus } from '../src/catalog/model.ts';

const dir = new URL('../src/store/scripts/', import.meta.url);
const files = readdirSync(dir).filter(f => f.endsWith('.lua'));
let redis: Redis;
let srv: Awaited<ReturnType<typeof testRedis>> | undefined;

test.before(async () => {
  srv = await testRedis();
  redis = new Redis(srv.url);
});
test.after.always(async () => {
  redis?.disconnect();
  await srv?.stop();
});

test('lua: every script file has a header; every command script names its KEYS (or shares them), ARGV and reply, and compiles', async t => {
  t.true(files.length > 20);
  for (const f of files) {
    const text = readFileSync(new URL(f, dir), 'utf8');
    t.regex(text, /^-- \S/, `${f}: starts with a header comment`);
    if (!/-\d+\.lua$/.test(f)) continue; // an include
    t.regex(text, /KEYS\[1\]|KEYS: see /, `${f}: header names its KEYS`);
    t.regex(text, /Returns? /, `${f}: header says what it returns`);
    const sha = String(await redis.call('SCRIPT', 'LOAD', luaSource(f)));
    t.regex(sha, /^[0-9a-f]{40}$/, `${f} compiles`);
  }
});

test('lua: no script spells a per-node or per-session key name (KEY.* comes from keys.ts)', t => {
  for (const f of files) t.notRegex(readFileSync(new URL(f, dir), 'utf8'), /PREFIX \.\. ':(svc|chk|slocks|snode):/, f);
  const k = keysFor('dc1');
  t.true(luaSource('register-9.lua').includes(`function KEY.services(x) return PREFIX .. '${k.services('n').slice(k.prefix.length, -1)}' .. x end`));
});

type Row = [title: string, def: Parameters<typeof thresholdsOf>[0], results: HealthStatus[], reported: (HealthStatus | null)[]];
const P = 'passing', W = 'warning', C = 'critical';
const table: Row[] = [
  ['no thresholds: every result applies at once', {}, [P, C, W, C, P], [P, C, W, C, P]],
  ['first result applies at once (counters start at their thresholds)', { SuccessBeforePassing: 3, FailuresBeforeCritical: 3 }, [C], [C]],
  ['SuccessBeforePassing 2 after a failure', { SuccessBeforePassing: 2 }, [C, P, P, P], [C, null, P, P]],
  ['FailuresBeforeCritical 3', { FailuresBeforeCritical: 3 }, [P, C, C, C, C], [P, null, null, C, C]],
  ['FailuresBeforeWarning 1 < FailuresBeforeCritical 3', { FailuresBeforeWarning: 1, FailuresBeforeCritical: 3 }, [P, C, C, C], [P, W, W, C]],
  ['a success resets the failure counter', { FailuresBeforeCritical: 2 }, [P, C, P, C, C], [P, null, P, null, C]],
  ['warning counts as a success', { SuccessBeforePassing: 2 }, [C, W, W], [C, null, W]],
];
table.forEach(([title, def, results, reported], i) => {
  test(`checkResult-1.lua: ${title}`, async t => {
    const th = thresholdsOf(def);
    const result = defineScript(redis, 'checkResult-1.lua', [`lua-test:{t${i}}:checkState`]);
    const got: (HealthStatus | null)[] = [];
    for (const r of results) {
      const s = String(await result('n1\0c', r, th.successBeforePassing, th.failuresBeforeWarning, th.failuresBeforeCritical));
      got.push(s ? (s as HealthStatus) : null);
    }
    t.deepEqual(got, reported);
  });
});

test('leaseAcquire/leaseRelease: one holder at a time; renewal by the holder; release only by the holder', async t => {
  const key = ['lua-test:{lease}:reconciler'];
  const acquire = defineScript(redis, 'leaseAcquire-1.lua', key);
  const release = defineScript(redis, 'leaseRelease-1.lua', key);
  t.is(await acquire('a', 3000), 1);
  t.is(await acquire('b', 3000), 0);
  t.is(await acquire('a', 3000), 1, 'renewed');
  t.is(await release('b'), 0);
  t.is(await release('a'), 1);
  t.is(await acquire('b', 50), 1);
  t.true(Number(await redis.pttl(key[0]!)) <= 50);
});
