/**
 * Snapshot save and restore at scale (issue 12 §4): fills a private redis-server with
 * SNAP_INSTANCES instances (default 100,000: 10,000 nodes × 10 services, one check each) and
 * 1,000 KV keys, then measures a save (Lua script time, how long Redis stalls other clients — the
 * worst PING answered every 5 ms meanwhile — file size, agent-side memory) and a restore (staging,
 * the atomic commit's Redis stall, total time). Bounded: one save, one restore, all on 127.0.0.1;
 * the Redis is stopped at the end.
 *
 *   node bench/store/snapshot.ts
 *   SNAP_INSTANCES=20000 node bench/store/snapshot.ts
 */
import { Redis } from 'ioredis';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedRedis } from '../../src/store/embedded-redis.ts';
import { CatalogStore } from '../../src/store/catalog-store.ts';
import { keysFor } from '../../src/store/keys.ts';
import { SnapshotStore } from '../../src/store/snapshot-store.ts';
import { encodeSnapshot } from '../../src/store/snapshot-format.ts';
import { CatalogView } from '../../src/catalog/view.ts';

const N = Number(process.env.SNAP_INSTANCES ?? 100_000);
const PER_NODE = 10;
const dir = mkdtempSync(join(tmpdir(), 'roster-snapbench-'));
const r = await startEmbeddedRedis(dir);
const redis = new Redis(r.url, { commandTimeout: 60_000 });
const keys = keysFor('dc1');
const store = new CatalogStore(redis, keys);
const snaps = new SnapshotStore(redis, keys, 'dc1');
const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;

/** Measures the worst PING latency on a second connection while `fn` runs: how long Redis stalls others. */
async function stall<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; worstPingMs: number }> {
  const probe = new Redis(r.url);
  await probe.ping();
  let worst = 0;
  let running = true;
  const loop = (async () => { while (running) { const t0 = performance.now(); await probe.ping(); worst = Math.max(worst, performance.now() - t0); await new Promise(res => setTimeout(res, 5)); } })();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  running = false;
  await loop;
  probe.disconnect();
  return { value, ms, worstPingMs: worst };
}

try {
  const t0 = performance.now();
  const nodes = Math.ceil(N / PER_NODE);
  for (let i = 0; i < nodes; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, nodes - i) }, (_, j) => {
      const n = `node-${i + j}`;
      const services = Array.from({ length: PER_NODE }, (_, s) => ({ ID: `svc${s}-${n}`, Service: `svc${s}`, Tags: ['v1'], Address: '', Meta: {}, Port: 8000 + s, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false }));
      return store.register({
        nodeName: n, node: { ID: '', Node: n, Address: `10.${(i + j) >> 16 & 255}.${(i + j) >> 8 & 255}.${(i + j) & 255}`, Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} },
        services,
        checks: services.map(s => ({ check: { Node: n, CheckID: `chk-${s.ID}`, Name: 'c', Notes: '', ServiceID: s.ID, ServiceName: s.Service, ServiceTags: [], Type: 'ttl', Interval: '', Timeout: '', ExposedPort: 0, Definition: {} } as never, status: 'passing' as const, output: '', keep: false, ttlMs: 0 })),
      });
    }));
  }
  const kv = redis.pipeline();
  for (let i = 0; i < 1000; i++) kv.hset(keys.kv, `cfg/${i}`, `0\n0\n0\n0\n\nvalue-${i}`);
  await kv.exec();
  const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  process.stderr.write(`filled ${N} instances on ${nodes} nodes in ${((performance.now() - t0) / 1000).toFixed(1)} s; Redis used_memory ${mb(used)}\n`);

  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const saved = await stall(() => snaps.save());
  const rssSaved = process.memoryUsage().rss;
  const t1 = performance.now();
  const chunks: Buffer[] = [];
  let peak = rssSaved;
  for await (const c of encodeSnapshot(saved.value.header, saved.value.entries)) { chunks.push(c as Buffer); peak = Math.max(peak, process.memoryUsage().rss); }
  const file = Buffer.concat(chunks);
  const encodeMs = performance.now() - t1;
  const restored = await stall(() => snaps.restore((async function* () { for (let i = 0; i < file.length; i += 65536) yield file.subarray(i, i + 65536); })()));
  // What every agent does on the restore's epoch change: reload the view authoritatively.
  const loaded = await store.loadAll();
  const view = new CatalogView();
  view.replaceAll(loaded.states, loaded.index);
  const t2 = performance.now();
  view.resetAll(loaded.states, loaded.index + 1);
  const resetMs = performance.now() - t2;
  const rows = [
    ['instances / nodes / keys', `${N} / ${nodes} / ${saved.value.header.keys}`],
    ['save: Lua DUMP script (round trip)', `${saved.ms.toFixed(0)} ms`],
    ['save: worst PING meanwhile (Redis stall)', `${saved.worstPingMs.toFixed(0)} ms`],
    ['save: agent RSS growth (reply held once)', `${mb(rssSaved - rss0)} (peak while encoding +${mb(peak - rss0)})`],
    ['save: gzip + checksum encode', `${encodeMs.toFixed(0)} ms`],
    ['snapshot file (gzip)', mb(file.length)],
    ['restore: total (decode, stage, commit)', `${restored.ms.toFixed(0)} ms`],
    ['restore: worst PING meanwhile (the commit script)', `${restored.worstPingMs.toFixed(0)} ms`],
    ['agent: CatalogView.resetAll (synchronous)', `${resetMs.toFixed(0)} ms`],
    ['restore: new index / epoch', `${restored.value.index} / ${restored.value.epoch}`],
  ];
  process.stdout.write('| measure | value |\n|---|---|\n' + rows.map(([a, b]) => `| ${a} | ${b} |`).join('\n') + '\n');
} finally {
  redis.disconnect();
  await r.stop();
}
