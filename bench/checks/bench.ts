/**
 * Benchmark: N HTTP checks at a fixed interval against a local target, run by `roster worker`
 * processes (1, then 2) while the agent only schedules (-checks-workers 0). Reports the achieved
 * check rate, lateness p50/p99 (start time − scheduled time), CPU and RSS per worker process, and
 * failure-to-DNS-removal latency p50/p99. Writes bench/checks/RESULTS.md.
 *
 *   node bench/checks/bench.ts [checks=10000] [intervalS=10] [measureS=30]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { createSocket } from 'node:dgram';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import dnsPacket from 'dns-packet';
import { startEmbeddedRedis, freePort } from '../../src/store/embedded-redis.ts';
import { CatalogStore } from '../../src/store/catalog-store.ts';
import { keysFor } from '../../src/store/keys.ts';
import { buildService, buildServiceChecks } from '../../src/http/registration.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const ROSTER = join(ROOT, 'bin/roster');
const N = Number(process.argv[2] ?? 10_000);
const INTERVAL_S = Number(process.argv[3] ?? 10);
const MEASURE_S = Number(process.argv[4] ?? 30);
const FAIL_N = 100;
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
const pct = (a: number[], p: number) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN; };
const say = (m: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

// --- target: /b/<i> answers 200, or 500 once failing; counts hits per second
const failing = new Set<number>();
let hits = 0;
const target = createServer((req, res) => {
  hits++;
  const i = Number(req.url!.slice(3));
  const code = failing.has(i) ? 500 : 200;
  res.writeHead(code, { 'Content-Type': 'text/plain' });
  res.end(code === 200 ? 'ok' : 'down');
});
await new Promise<void>(r => target.listen(0, '127.0.0.1', r));
const tport = (target.address() as { port: number }).port;

const dir = mkdtempSync(join(tmpdir(), 'roster-bench-checks-'));
const redis = await startEmbeddedRedis(dir);
const [httpPort, dnsPort, serfPort] = [await freePort(), await freePort(), await freePort()];
const procs: ChildProcess[] = [];
const cleanup = async () => { for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL'); await redis.stop(); target.close(); };
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

const agent = spawn(ROSTER, ['agent', '-node', 'bench', '-redis', redis.url, '-http-port', String(httpPort), '-dns-port', String(dnsPort), '-serf-lan-port', String(serfPort), '-serf-wan-port', '-1', '-data-dir', join(dir, 'agent'), '-checks-workers', '0', '-log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
procs.push(agent);
for (let i = 0; ; i++) {
  try { const r = await fetch(`http://127.0.0.1:${httpPort}/v1/status/leader`); if (r.ok && (await r.json()) !== '') break; } catch { /* not yet */ }
  if (i > 200) throw new Error('agent did not start');
  await sleep(100);
}

// --- register N services with one HTTP check each, straight into the catalog (100 per atomic write)
const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
const store = new CatalogStore(conn, keysFor('dc1'));
const t0 = Date.now();
for (let i = 0; i < N; i += 100) {
  const services = [], checks = [];
  for (let j = i; j < Math.min(N, i + 100); j++) {
    const def = { Name: `b-${j}`, Port: 10_000 + (j % 50_000), Check: { HTTP: `http://127.0.0.1:${tport}/b/${j}`, Interval: `${INTERVAL_S}s`, Timeout: '2s' } };
    const svc = buildService(def);
    services.push(svc);
    checks.push(...buildServiceChecks(def, svc, 'bench'));
  }
  await store.register({ nodeName: 'bench', node: null, services, checks });
}
say(`registered ${N} services with HTTP checks (interval ${INTERVAL_S}s, timeout 2s) in ${Date.now() - t0} ms`);
const q = new Queue('checks', { connection: conn, prefix: keysFor('dc1').bullPrefix });
for (;;) { const n = await q.getJobSchedulersCount(); if (n >= N) break; await sleep(250); }
say(`agent scheduled ${N} job schedulers after ${Date.now() - t0} ms`);

interface Stat { pid: number; t: number; runs: number; rate: number; p50: number; p99: number; max: number; cpu: number; rssMB: number; heapMB: number; skipped: number }
const stats: Stat[] = [];
function startWorker(): ChildProcess {
  const p = spawn(ROSTER, ['worker', '-redis', redis.url, '-concurrency', '100', '-stats-interval', '5s', '-log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = '';
  p.stdout!.on('data', d => {
    buf += String(d);
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) { const line = buf.slice(0, nl); buf = buf.slice(nl + 1); try { const s = JSON.parse(line); if (s.stats) { stats.push(s); if (process.env.BENCH_VERBOSE) say(`  worker ${s.pid}: ${s.rate}/s p50 ${s.p50} p99 ${s.p99} max ${s.max} skipped ${s.skipped} cpu ${s.cpu}%`); } } catch { /* log line */ } }
  });
  procs.push(p);
  return p;
}
function procCpu(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime in seconds (USER_HZ 100)
}

async function measure(label: string, workers: ChildProcess[]) {
  const from = Date.now();
  const hits0 = hits;
  const agentCpu0 = procCpu(agent.pid!);
  const redisCpu0 = procCpu(redis.pid);
  await sleep(MEASURE_S * 1000);
  const secs = (Date.now() - from) / 1000;
  const window = stats.filter(s => s.t - 5000 >= from - 200); // stats lines whose 5 s window lies inside the measurement
  const per = workers.map(w => {
    const ws = window.filter(s => s.pid === w.pid);
    return {
      pid: w.pid!, rate: ws.reduce((a, s) => a + s.rate, 0) / Math.max(1, ws.length), p50: pct(ws.map(s => s.p50), 50), p99: Math.max(...ws.map(s => s.p99)), max: Math.max(...ws.map(s => s.max)),
      cpu: ws.reduce((a, s) => a + s.cpu, 0) / Math.max(1, ws.length), rssMB: Math.max(...ws.map(s => s.rssMB)), heapMB: Math.max(...ws.map(s => s.heapMB)), skipped: ws.reduce((a, s) => a + s.skipped, 0),
    };
  });
  const r = {
    label, workers: workers.length, targetRate: (hits - hits0) / secs, rate: per.reduce((a, p) => a + p.rate, 0), p50: Math.max(...per.map(p => p.p50)), p99: Math.max(...per.map(p => p.p99)),
    per, agentCpu: ((procCpu(agent.pid!) - agentCpu0) / secs) * 100, redisCpu: ((procCpu(redis.pid) - redisCpu0) / secs) * 100,
  };
  say(`${label}: ${r.rate.toFixed(0)} checks/s (target saw ${r.targetRate.toFixed(0)} req/s), lateness p50 ${r.p50} ms p99 ${r.p99} ms; ` + per.map(p => `worker ${p.pid}: ${p.rate.toFixed(0)}/s cpu ${p.cpu.toFixed(0)}% rss ${p.rssMB} MB`).join('; ') + `; agent cpu ${r.agentCpu.toFixed(0)}%, redis cpu ${r.redisCpu.toFixed(0)}%`);
  return r;
}

// One UDP socket for every DNS probe (ids match answers to queries).
let qid = 1;
const dnsSock = createSocket('udp4');
const pending = new Map<number, (present: boolean) => void>();
dnsSock.on('message', m => { const p = dnsPacket.decode(m); const cb = pending.get(p.id!); if (cb) { pending.delete(p.id!); cb((p.answers ?? []).length > 0); } });
await new Promise<void>(r => dnsSock.bind(0, '127.0.0.1', r));
let dnsTimeouts = 0;
let dnsMaxRtt = 0;
function query(name: string): Promise<boolean | null> {
  return new Promise(res => {
    const id = (qid = (qid % 65535) + 1);
    const sent = Date.now();
    const t = setTimeout(() => { pending.delete(id); dnsTimeouts++; res(null); }, 1000);
    pending.set(id, v => { clearTimeout(t); dnsMaxRtt = Math.max(dnsMaxRtt, Date.now() - sent); res(v); });
    dnsSock.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), dnsPort, '127.0.0.1');
  });
}
/** Whether `name` has A records; a query without an answer within 1 s is retried (and counted). */
async function inDns(name: string): Promise<boolean> {
  for (let i = 0; i < 5; i++) { const v = await query(name); if (v !== null) return v; }
  throw new Error(`no DNS answer for ${name} after 5 tries`);
}

async function failureToDns() {
  const picks: number[] = [];
  for (let k = 0; k < FAIL_N; k++) picks.push(Math.floor((k * N) / FAIL_N) + 7);
  for (const i of picks) if (!(await inDns(`b-${i}.service.consul`))) throw new Error(`b-${i} not in DNS before the failure`);
  const start = Date.now();
  for (const i of picks) failing.add(i);
  const lat = new Map<number, number>();
  while (lat.size < picks.length && Date.now() - start < (INTERVAL_S + 2 + 5) * 1000) {
    await Promise.all(picks.filter(i => !lat.has(i)).map(async i => { if (!(await inDns(`b-${i}.service.consul`))) lat.set(i, Date.now() - start); }));
    await sleep(50);
  }
  const l = [...lat.values()];
  const r = { n: picks.length, removed: l.length, p50: pct(l, 50), p99: pct(l, 99), max: Math.max(...l), bound: (INTERVAL_S + 2 + 1) * 1000, timeouts: dnsTimeouts, maxRtt: dnsMaxRtt };
  say(`failure → DNS removal: ${r.removed}/${r.n} removed, p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms (bound interval+timeout+1s = ${r.bound} ms); DNS probes unanswered within 1 s: ${r.timeouts}, slowest answer ${r.maxRtt} ms`);
  for (const i of picks) failing.delete(i);
  for (;;) { const back = await Promise.all(picks.map(i => inDns(`b-${i}.service.consul`))); if (back.every(Boolean)) break; await sleep(200); }
  return r;
}

const w1 = startWorker();
say('1 worker process started; warming up until steady (two 5 s windows with p99 lateness < 1 s, at most 120 s)');
// The first run of every check flips it critical → passing: 10,000 catalog writes within one interval (each applied
// by the agent as a one-check delta). That backlog is reported, then the steady state is measured.
const warmFrom = Date.now();
await sleep(INTERVAL_S * 1000);
for (;;) {
  const last = stats.filter(x => x.pid === w1.pid).slice(-2);
  if (last.length === 2 && last.every(x => x.p99 < 1000 && x.t - 5000 > warmFrom + INTERVAL_S * 1000)) break;
  if (Date.now() - warmFrom > 120_000) { say('not steady after 120 s; measuring anyway'); break; }
  await sleep(1000);
}
const warmup = { secs: (Date.now() - warmFrom) / 1000, maxLateness: Math.max(...stats.filter(x => x.pid === w1.pid).map(x => x.max)) };
say(`steady after ${warmup.secs.toFixed(0)} s (worst lateness while the first runs were written: ${warmup.maxLateness} ms)`);
const one = await measure('1 worker', [w1]);
const dnsLat = await failureToDns();
const w2 = startWorker();
say(`2nd worker process started; warming up ${INTERVAL_S} s`);
await sleep(INTERVAL_S * 1000);
const two = await measure('2 workers', [w1, w2]);

const cpuModel = cpus()[0]?.model ?? '?';
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const md = `# Checks benchmark

Command: \`bench/checks/run.sh\` (= \`node bench/checks/bench.ts ${N} ${INTERVAL_S} ${MEASURE_S}\`), ${new Date().toISOString()}.
Machine: ${cpus().length} × ${cpuModel}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, redis-server (AOF everysec) on loopback.
Everything runs on this one machine: redis-server, the agent (scheduling only, \`-checks-workers 0\`), the \`roster worker\`
process(es) (\`-concurrency 100\`), and the HTTP target + DNS prober (this driver). The machine is shared with other
work: load average at the end of the run ${load} (2 cores).

Start-up: the first run of every check flips it critical → passing, i.e. ${N} catalog writes within one interval, each
applied by the agent as a one-check delta; worst lateness meanwhile ${warmup.maxLateness} ms, and the worker was steady
(p99 < 1 s) ${warmup.secs.toFixed(0)} s after it started (the earliest the check can tell: one interval plus two 5 s windows). The table is the steady state after that.

Load: ${N} HTTP checks, interval ${INTERVAL_S} s, timeout 2 s, one service per check on the agent's node
→ ${(N / INTERVAL_S).toFixed(0)} checks/s scheduled. Each row is measured over ${MEASURE_S} s of steady state (the 2-worker row after
the second worker ran for one interval). p99 is the worst of the 5 s windows' p99s: on this shared machine single
windows in which every worker's rate and CPU drop at the same moment (other tenants' load) set it, so the
2-worker p99 is noisier than the 1-worker one (see all runs below; \`BENCH_VERBOSE=1\` prints every window).
Lateness = time a run starts − its scheduled time (BullMQ job-scheduler slot).

| workers | achieved checks/s | target saw req/s | lateness p50 | lateness p99 | per worker: checks/s, CPU, RSS (JS heap) | agent CPU | redis CPU |
|---|---|---|---|---|---|---|---|
${[one, two].map(r => `| ${r.workers} | ${r.rate.toFixed(0)} | ${r.targetRate.toFixed(0)} | ${r.p50} ms | ${r.p99} ms | ${r.per.map(p => `${p.rate.toFixed(0)}/s, ${p.cpu.toFixed(0)} %, ${p.rssMB} MB (${p.heapMB} MB)`).join('; ')} | ${r.agentCpu.toFixed(0)} % | ${r.redisCpu.toFixed(0)} % |`).join('\n')}

Failure → DNS removal (${dnsLat.n} targets switched to HTTP 500 at once, 1 worker; polled with UDP DNS queries every 50 ms):
p50 **${dnsLat.p50} ms**, p99 **${dnsLat.p99} ms**, max ${dnsLat.max} ms, ${dnsLat.removed}/${dnsLat.n} removed
(bound: interval + timeout + 1 s = ${dnsLat.bound} ms → ${dnsLat.max < dnsLat.bound ? 'met' : 'MISSED'}).
DNS probes unanswered within 1 s (retried): ${dnsLat.timeouts}; slowest DNS answer: ${dnsLat.maxRtt} ms.
The latency is dominated by where in its ${INTERVAL_S} s interval each check happened to be; the write → DNS step itself is one Lua call
plus one pub/sub hop (measured at a few ms in integration/checks-agent.test.ts).

Targets: 1,000 checks/s with p99 lateness < 1 s on one worker process → ${one.rate >= 0.97 * (N / INTERVAL_S) && one.p99 < 1000 ? '**met**' : `**missed** (${one.rate.toFixed(0)} checks/s, p99 ${one.p99} ms)`}.
`;
// Every run appends one line to runs.tsv, so the variance on this shared machine stays visible.
const hist = join(ROOT, 'bench/checks/runs.tsv');
if (!existsSync(hist)) writeFileSync(hist, 'time\tchecks\tinterval_s\tload1\t1w_rate\t1w_p50_ms\t1w_p99_ms\t2w_rate\t2w_p50_ms\t2w_p99_ms\tdns_p50_ms\tdns_p99_ms\n');
appendFileSync(hist, [new Date().toISOString(), N, INTERVAL_S, load.split(' ')[0], one.rate.toFixed(0), one.p50, one.p99, two.rate.toFixed(0), two.p50, two.p99, dnsLat.p50, dnsLat.p99].join('\t') + '\n');
const runs = readFileSync(hist, 'utf8').trim().split('\n').slice(1).map(l => `| ${l.split('\t').join(' | ')} |`).join('\n');
writeFileSync(join(ROOT, 'bench/checks/RESULTS.md'), md + `
### All runs (bench/checks/runs.tsv)

The two runs before 06:00 used a fixed 15 s warm-up, so the start-up backlog fell into the 1-worker window, and a DNS
prober that opened a socket per query (it overloaded the driver process that also serves the target).

| time | checks | interval s | load avg | 1 worker checks/s | p50 ms | p99 ms | 2 workers checks/s | p50 ms | p99 ms | fail→DNS p50 ms | p99 ms |
|---|---|---|---|---|---|---|---|---|---|---|---|
${runs}
`);
say('wrote bench/checks/RESULTS.md');
await q.close();
conn.disconnect();
dnsSock.close();
await cleanup();
process.exit(0);
