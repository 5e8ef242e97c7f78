/**
 * Diagnostic probe for the checks engine: N HTTP checks on one agent, run by an in-process CheckWorker; prints
 * lateness percentiles and per-second worst lateness. `PROBE_PROF=<dir>` CPU-profiles the agent while 100 targets fail.
 *   node bench/checks/probe.ts [checks=10000] [concurrency=100] [measureS=20]
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Queue, Worker } from 'bullmq';
const proto = Worker.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
const orig = proto.getBlockTimeout!;
const blocks: [number, number][] = [];
proto.getBlockTimeout = function (this: unknown, ...a: unknown[]) { const v = orig.apply(this, a) as number; if (v > 1) blocks.push([Date.now(), v]); return v; };
import { startEmbeddedRedis, freePort } from '../../src/store/embedded-redis.ts';
import { CatalogStore } from '../../src/store/catalog-store.ts';
import { keysFor } from '../../src/store/keys.ts';
import { buildService, buildServiceChecks } from '../../src/http/registration.ts';
import { RedisConnector } from '../../src/store/connect.ts';
import { CheckWorker } from '../../src/checks/worker.ts';
const N = Number(process.argv[2] ?? 10000), CONC = Number(process.argv[3] ?? 100);
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
const failing = new Set<string>();
const target = createServer((req, res) => { const f = failing.has(req.url!); res.writeHead(f ? 500 : 200); res.end(f ? 'down' : 'ok'); });
await new Promise<void>(r => target.listen(0, '127.0.0.1', r));
const tport = (target.address() as { port: number }).port;
const dir = mkdtempSync(join(tmpdir(), 'exp-'));
const redis = await startEmbeddedRedis(dir);
const [h, d, s] = [await freePort(), await freePort(), await freePort()];
const agent = spawn('/work/main/bin/roster', ['agent', '-node', 'bench', '-redis', redis.url, '-http-port', String(h), '-dns-port', String(d), '-serf-lan-port', String(s), '-serf-wan-port', '-1', '-data-dir', join(dir, 'a'), '-checks-workers', '0', '-log-level', 'warn'], { stdio: 'inherit', env: { ...process.env, ...(process.env.PROBE_PROF ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.PROBE_PROF}` } : {}) } });
for (;;) { try { const r = await fetch(`http://127.0.0.1:${h}/v1/status/leader`); if (r.ok && (await r.json()) !== '') break; } catch {} await sleep(100); }
const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
const store = new CatalogStore(conn, keysFor('dc1'));
for (let i = 0; i < N; i += 100) {
  const services = [], checks = [];
  for (let j = i; j < Math.min(N, i + 100); j++) {
    const def = { Name: `b-${j}`, Port: 1, Check: { HTTP: `http://127.0.0.1:${tport}/b/${j}`, Interval: '10s', Timeout: '2s' } };
    const svc = buildService(def); services.push(svc); checks.push(...buildServiceChecks(def, svc, 'bench'));
  }
  await store.register({ nodeName: 'bench', node: null, services, checks });
}
const q = new Queue('checks', { connection: conn, prefix: keysFor('dc1').bullPrefix });
for (;;) { if (await q.getJobSchedulersCount() >= N) break; await sleep(250); }
const samples: [number, number][] = [];
const wconn = new Redis(redis.url, { maxRetriesPerRequest: 1 });
const w = new CheckWorker({ connector: new RedisConnector(redis.url, { timeoutMs: 5000 }), store: new CatalogStore(wconn, keysFor('dc1')), prefix: keysFor('dc1').bullPrefix, concurrency: CONC, onRun: (_d, _s, l) => samples.push([Date.now(), l]) });
await sleep(15000);
const from = Date.now();
samples.length = 0;
await sleep(Number(process.argv[4] ?? 20) * 1000);
const lat = samples.map(x => x[1]).sort((a, b) => a - b);
const p = (q: number) => lat[Math.floor(q * lat.length)];
console.log('long blocks (s):', blocks.filter(b => b[0] >= from).map(b => `${((b[0] - from) / 1000).toFixed(1)}:${b[1].toFixed(2)}`).join(' '));
console.log(`runs/s ${(samples.length / Number(process.argv[4] ?? 20)).toFixed(0)} p50 ${p(0.5)} p90 ${p(0.9)} p99 ${p(0.99)} max ${lat[lat.length - 1]}`);
// per-second max lateness
const buckets = new Map<number, number>();
for (const [t, l] of samples) { const b = Math.floor((t - from) / 1000); buckets.set(b, Math.max(buckets.get(b) ?? 0, l)); }
console.log('per-second max:', [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(x => x[1]).join(' '));
const late = samples.filter(x => x[1] > 500).length;
console.log('late>500ms:', late);
if (process.env.PROBE_PROF) { for (let k = 0; k < 100; k++) failing.add(`/b/${k * 97}`); await sleep(12000); agent.kill('SIGTERM'); await new Promise(r => agent.once('exit', r)); }
await w.close(); agent.kill('SIGKILL'); await redis.stop(); process.exit(0);
