/**
 * The KV/session/event/ACL change hints on a Redis Stream against the old pub/sub (issue 12 §3), one command:
 *   node bench/store/hints.ts [writes=20000]
 *   ROSTER_SRC=/path/to/other/checkout/src ROSTER_LABEL=before node bench/store/hints.ts ...
 * Starts a redis-server and, in this process, the KV store and the hints reader of ROSTER_SRC (before the
 * stream: a subscriber on the kvevents channel). Measures, on loopback:
 *  - write cost: `writes` KV sets (each a real change), 1 and 32 in flight: writes/s and latency p50/p99
 *    (the script now also reads the stream's last entry and appends one), and Redis's own time per write
 *    script (INFO commandstats, evalsha usec_per_call: steadier than throughput on a busy machine);
 *  - hint latency: 2,000 paced writes: time from sending the write to the reader handing its hint on (p50/p99);
 *  - reconnect: the reader's connection killed, 1,000 writes while it is away: hints heard after it is back,
 *    and fallbacks to "wake every watcher" (the pub/sub subscriber hears none of them and wakes everything);
 *  - Redis memory held by the hints stream after all the writes (MAXLEN ~ 10,000).
 * Bounded in count and time; everything stops by itself.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';

const SRC = resolve(process.env.ROSTER_SRC ?? join(import.meta.dirname, '../../src'));
const LABEL = process.env.ROSTER_LABEL ?? 'after';
const WRITES = Number(process.argv[2] ?? 20_000);
const { KvStore } = await import(join(SRC, 'store/kv-store.ts'));
const { keysFor } = await import(join(SRC, 'store/keys.ts'));
const { startEmbeddedRedis } = await import(join(SRC, 'store/embedded-redis.ts'));
const keys = keysFor('dc1');
const stream = 'hints' in keys;

const r = await startEmbeddedRedis(mkdtempSync(join(tmpdir(), 'roster-bench-hints-')));
const redis = new Redis(r.url);
const admin = new Redis(r.url);
const kv = new KvStore(redis, keys);

// The reader: hands on the keys each hint names; counts fallbacks (wake everything).
const heard = new Map<string, number>();
let fallbacks = 0;
const onHint = (v: string) => { const now = performance.now(); for (const k of (JSON.parse(v) as { k?: string[] }).k ?? []) if (!heard.has(k)) heard.set(k, now); };
let stop: () => Promise<void>;
let readerName: string;
if (stream) {
  const { HintLog, HINTS_CLIENT } = await import(join(SRC, 'store/hint-log.ts'));
  const hints = new HintLog(redis, keys, { blockMs: 1000, deadlineMs: 2000, checkIntervalMs: 3_600_000 });
  await hints.start();
  hints.on('kv', onHint);
  hints.onLost(() => { fallbacks++; });
  stop = () => hints.stop();
  readerName = HINTS_CLIENT;
} else {
  readerName = 'bench-sub';
  const sub = new Redis(r.url, { connectionName: readerName });
  let once = false;
  sub.on('message', (_c: string, m: string) => onHint(m));
  sub.on('ready', () => { if (once) fallbacks++; once = true; }); // the old code woke every watcher here
  await sub.subscribe(keys.kvEvents);
  stop = async () => { sub.disconnect(); };
}

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]!; };
const ms = (x: number) => x.toFixed(2);

async function writeLoad(n: number, inFlight: number, prefix: string): Promise<{ perSec: number; p50: number; p99: number }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < n) {
      const i = next++;
      const s = performance.now();
      await kv.set(`${prefix}/${i}`, Buffer.from(String(i)));
      lat.push(performance.now() - s);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  return { perSec: Math.round(n / secs), p50: pct(lat, 50), p99: pct(lat, 99) };
}

async function until(what: string, fn: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(res => setTimeout(res, 5));
  }
}

const out: Record<string, unknown> = { label: LABEL, transport: stream ? 'stream' : 'pub/sub', writes: WRITES };
await writeLoad(2000, 8, 'warm');
const w1 = await writeLoad(WRITES, 1, 'w1');
out.write_1_in_flight = `${w1.perSec}/s p50 ${ms(w1.p50)} ms p99 ${ms(w1.p99)} ms`;
await admin.config('RESETSTAT');
const w32 = await writeLoad(WRITES, 32, 'w32');
out.write_32_in_flight = `${w32.perSec}/s p50 ${ms(w32.p50)} ms p99 ${ms(w32.p99)} ms`;
// Redis's own time per write script (stable on a busy machine, unlike throughput).
const stats = String(await admin.info('commandstats'));
out.redis_us_per_write = Number(/cmdstat_evalsha:calls=\d+,usec=\d+,usec_per_call=([\d.]+)/.exec(stats)?.[1]);
await until('every load hint', () => heard.has(`w32/${WRITES - 1}`));

// Hint latency: paced writes, one at a time, 1 ms apart.
const lat: number[] = [];
for (let i = 0; i < 2000; i++) {
  const k = `lat/${i}`;
  const s = performance.now();
  await kv.set(k, Buffer.from('x'));
  await until(k, () => heard.has(k), 5000);
  lat.push(heard.get(k)! - s);
  await new Promise(res => setTimeout(res, 1));
}
out.hint_latency = `p50 ${ms(pct(lat, 50))} ms p99 ${ms(pct(lat, 99))} ms (write sent → hint handed on)`;

// Reconnect: the reader is killed, 1,000 writes while it is away (it reconnects after ≥ 50 ms).
const list = String(await admin.call('CLIENT', 'LIST'));
const ids = list.split('\n').filter(l => l.includes(` name=${readerName} `)).map(l => /id=(\d+)/.exec(l)![1]!);
const before = fallbacks;
for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id);
const away = Array.from({ length: 1000 }, (_, i) => `away/${i}`);
await Promise.all(away.map(k => kv.set(k, Buffer.from('x'))));
await new Promise(res => setTimeout(res, 1500));
out.reconnect = `${away.filter(k => heard.has(k)).length} of 1000 missed hints heard after the reconnect; fallbacks (wake every watcher): ${fallbacks - before}`;
if (stream) out.stream_memory = `${Math.round(Number(await admin.call('MEMORY', 'USAGE', keys.hints, 'SAMPLES', '0')) / 1024)} KB for ${await admin.xlen(keys.hints)} entries`;
console.log(JSON.stringify(out, null, 2));
await stop();
redis.disconnect();
admin.disconnect();
await r.stop();
