/**
 * Full reloads set off by concurrent writes (issue 19 §1): one syncer + view in this process against a
 * real redis-server holding N instances, a writer flipping checks as fast as it can for D seconds, and
 * a resync forced every R seconds (as the 30 s safety net and every reconnect do). Counts full reloads,
 * bytes Redis sent, and writes/s.
 *   node bench/views/reloads.ts [instances=10000] [seconds=20] [resyncEvery=5]
 *   ROSTER_SRC=/path/to/other/checkout/src node bench/views/reloads.ts   # the same against another version
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { fillCatalog } from '../store/fill-catalog.ts';

const SRC = resolve(process.env.ROSTER_SRC ?? join(import.meta.dirname, '../../src'));
const { startEmbeddedRedis } = await import(join(SRC, 'store/embedded-redis.ts'));
const { CatalogStore } = await import(join(SRC, 'store/catalog-store.ts'));
const { keysFor } = await import(join(SRC, 'store/keys.ts'));
const { CatalogView } = await import(join(SRC, 'catalog/view.ts'));
const { CatalogSyncer } = await import(join(SRC, 'catalog/syncer.ts'));

if (process.argv[2] === 'writer') {
  // The writer runs in its own process, as another agent would: flips checks until told to stop.
  const [url, nodesS, secondsS] = process.argv.slice(3);
  const w = new CatalogStore(new Redis(url!), keysFor('dc1'));
  const until = Date.now() + Number(secondsS) * 1000;
  let n = 0;
  while (Date.now() < until) { await w.updateCheck(`n${n % Number(nodesS)}`, 'c', Math.floor(n / Number(nodesS)) % 2 ? 'passing' : 'critical', ''); n++; }
  process.stdout.write(String(n));
  process.exit(0);
}
const instances = Number(process.argv[2] ?? 10_000);
const seconds = Number(process.argv[3] ?? 20);
const resyncEvery = Number(process.argv[4] ?? 5);
const nodes = Math.ceil(instances / 5);

const r = await startEmbeddedRedis(mkdtempSync(join(tmpdir(), 'roster-bench-')));
const redis = new Redis(r.url);
const writerRedis = new Redis(r.url);
const keys = keysFor('dc1');
const store = new CatalogStore(redis, keys);
const writer = new CatalogStore(writerRedis, keys);
await fillCatalog(writer, nodes);

let loads = 0;
const orig = store.loadAll.bind(store);
store.loadAll = (...a: unknown[]) => { loads++; return orig(...a); };
const view = new CatalogView();
const syncer = new CatalogSyncer(store, view, { resyncIntervalMs: resyncEvery * 1000 });
await syncer.start();
const loadsAtStart = loads;
const outBytes = async () => Number(/total_net_output_bytes:(\d+)/.exec(await writerRedis.info('stats'))![1]);
const out0 = await outBytes();
const cpu0 = process.cpuUsage();
const { execFile } = await import('node:child_process');
const writes = await new Promise<number>((res, rej) => execFile(process.execPath, [import.meta.filename, 'writer', r.url, String(nodes), String(seconds)], { env: process.env }, (err, stdout) => err ? rej(err) : res(Number(stdout))));
const cpu = process.cpuUsage(cpu0);
const out = (await outBytes()) - out0;
const forced = Math.floor(seconds / resyncEvery);
console.log(`| ${process.env.ROSTER_LABEL ?? SRC} | ${instances} | ${seconds} s | ${loads - loadsAtStart} (${forced} periodic) | ${(out / 1e6).toFixed(1)} MB | ${Math.round(writes / seconds)} | ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s |`);
await syncer.stop();
redis.disconnect();
writerRedis.disconnect();
await r.stop();
