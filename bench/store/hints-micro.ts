/**
 * Redis-side cost of one change hint, by how it is written (bench/store/RESULTS-hints.md), one command:
 *   node bench/store/hints-micro.ts
 * Each variant is a script doing only the hint, called 30,000 times with 32 in flight, two rounds; prints
 * Redis's own µs per call (INFO commandstats), which a busy machine disturbs less than throughput.
 */
import { Redis } from 'ioredis';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const { startEmbeddedRedis } = await import('../../src/store/embedded-redis.ts');
const r = await startEmbeddedRedis(mkdtempSync(join(tmpdir(), 'hb-')));
const c = new Redis(r.url);
const scripts: Record<string, string> = {
  publish: `redis.call('PUBLISH', KEYS[1], ARGV[1]) return 1`,
  revrange_xadd: `local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1) local n = 1 if last[1] then n = tonumber(last[1][2][2]) + 1 end redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*', 'r', n, 'kv', ARGV[1]) return 1`,
  incr_xadd: `local n = redis.call('INCR', KEYS[3]) redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*', 'r', n, 'kv', ARGV[1]) return 1`,
  xadd_only: `redis.call('XADD', KEYS[4], 'MAXLEN', '~', 10000, '*', 'r', 1, 'kv', ARGV[1]) return 1`,
  xadd_nomax: `redis.call('XADD', KEYS[5], '*', 'r', 1, 'kv', ARGV[1]) return 1`,
};
for (let round = 0; round < 2; round++) for (const [name, src] of Object.entries(scripts)) {
  const sha = String(await c.script('LOAD', src));
  await c.config('RESETSTAT');
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => { while (next < 30000) { next++; await c.evalsha(sha, 5, 'ch', 's1', 'cnt', 's2', 's3', '{"i":12345,"k":["some/key/name"]}'); } }));
  const st = String(await c.info('commandstats'));
  console.log(name, /cmdstat_evalsha:calls=\d+,usec=\d+,usec_per_call=([\d.]+)/.exec(st)?.[1]);
}
c.disconnect(); await r.stop();
