/**
 * bench/scale: the catalog growth table. Grows one catalog (one agent, one private redis-server)
 * to each size in SCALE_STAGES and measures at each: registration rate, agent RSS and heap, Redis
 * memory per instance, a second agent's start time, DNS for a 1,000-instance service (cache-miss
 * latency of A with EDNS 4096 over UDP and SRV over TCP; QPS with dnsperf), and the wake of 5,000
 * and 10,000 blocking queries on a 50-instance service; at the middle size also the most watchers
 * the open-file limit allows, held while a fresh connection is served.
 *
 *   SCALE_ROOT=<tree with bin/roster + dist> SCALE_LABEL=before|after node bench/scale/bench.ts
 * Writes bench/scale/results-<label>.json; report.ts turns the files into RESULTS.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { ancount, closedLoop, dnsQuery, heapMb, pct, procStats, request, settle, startAgent, startRedis, tcpClient, tcpQps, udpClient } from './lib.ts';
import { wakeRound, type WakeRound } from './watchers.ts';

const HERE = import.meta.dirname;
const ROOT = resolve(process.env.SCALE_ROOT ?? join(HERE, '../..'));
const LABEL = process.env.SCALE_LABEL ?? 'after';
const STAGES = (process.env.SCALE_STAGES ?? '10000,50000,200000').split(',').map(Number);
const ROUNDS10K = Number(process.env.SCALE_ROUNDS ?? 3);
const MAX_WATCHERS = Number(process.env.SCALE_MAX_WATCHERS ?? 19_000);
const REG_CAP_MS = 240_000;
const FLIPS = 30;

/** Instance i lives on node n<i/10>: slot 0 of the first 1,000 nodes is `big`, slot 1 of the first 50 `watched`, the rest 20 per service. */
function instance(i: number): { node: string; addr: string; id: string; name: string; slot: number } {
  const j = Math.floor(i / 10), s = i % 10;
  const name = s === 0 && j < 1000 ? 'big' : s === 1 && j < 50 ? 'watched' : `svc-${Math.floor(i / 20)}`;
  return { node: `n${j}`, addr: `10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}`, id: `${name}-${i}`, name, slot: s };
}
function registration(i: number, status: 'passing' | 'warning'): string {
  const x = instance(i);
  return JSON.stringify({
    Node: x.node, Address: x.addr, NodeMeta: { rack: `r${i % 7}` },
    Service: { ID: x.id, Service: x.name, Port: 8000 + x.slot, Tags: ['v1', `shard-${i % 4}`], Meta: { version: '1.2.3' } },
    Check: { CheckID: `service:${x.id}`, Name: `Service '${x.name}' check`, Status: status, ServiceID: x.id, Output: 'HTTP GET http://10.0.0.1:8080/health: 200 OK Output: ok' },
  });
}

const cpu = cpus();
const machine = `${cpu.length} × ${cpu[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, load ${spawnSync('cat', ['/proc/loadavg']).stdout.toString().split(' ').slice(0, 3).join(' ')} at start`;
console.log(`[${LABEL}] roster from ${ROOT}; stages ${STAGES.join(', ')}; ${machine}`);

const redis = await startRedis();
const rc = new Redis(redis.url, { commandTimeout: 5000, maxRetriesPerRequest: 1 });
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await rc.info('memory'))![1]);
const mem0 = await usedMemory();
const agent = await startAgent(ROOT, 'scale-agent', redis.url);
// Stopped or interrupted: take the agent and redis-server down with the driver.
const killAll = (why: unknown) => { console.error('bench/scale stopped:', why); agent.proc.kill('SIGKILL'); redis.proc.kill('SIGKILL'); process.exit(1); };
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => killAll(sig));
process.on('uncaughtException', killAll);
process.on('unhandledRejection', killAll);
const port = agent.http;
console.log(`agent up in ${agent.startMs.toFixed(0)} ms (pid ${agent.pid}), RSS ${procStats(agent.pid).rssMb.toFixed(0)} MB`);

const flipState = new Map<number, 'passing' | 'warning'>();
async function flip(i: number): Promise<void> {
  const st = flipState.get(i) === 'warning' ? 'passing' : 'warning';
  flipState.set(i, st);
  const r = await request(port, 'PUT', '/v1/catalog/register', registration(i, st));
  if (r.status !== 200) throw new Error(`flip ${r.status} ${r.body}`);
}

async function dnsperf(qfile: string, args: string[]): Promise<number> {
  const r = spawnSync('dnsperf', ['-s', '127.0.0.1', '-p', String(agent.dns), '-d', qfile, '-l', '4', '-c', '4', '-q', '64', ...args], { encoding: 'utf8', timeout: 20_000 });
  const m = /Queries per second:\s+([\d.]+)/.exec(r.stdout ?? '');
  return m ? Number(m[1]) : NaN;
}

interface Stage {
  instances: number; regPerS: number; regMs: number; registered: number;
  rssMb: number; heapMb: number; redisBytesPerInstance: number; startMs: number;
  dns: { timeouts: number; aMissP50: number; aMissP99: number; aAnswers: number; srvMissP50: number; srvMissP99: number; srvAnswers: number; aQps: number; srvTcpQps: number };
  wake: { w5k: WakeRound[]; w10k: WakeRound[]; max?: WakeRound };
}
const stages: Stage[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'scale-q-'));
writeFileSync(join(tmp, 'a.txt'), 'big.service.consul A\n');
let have = 0;

for (const target of STAGES) {
  console.log(`--- ${target} instances`);
  const reg = await closedLoop(target - have, 64, REG_CAP_MS, async k => {
    const r = await request(port, 'PUT', '/v1/catalog/register', registration(have + k, 'passing'));
    if (r.status !== 200) throw new Error(`register ${r.status} ${r.body}`);
  });
  const registered = have + reg.done;
  console.log(`registered ${reg.done} in ${(reg.ms / 1000).toFixed(1)} s: ${reg.perS.toFixed(0)}/s${registered < target ? ` (stopped at the ${REG_CAP_MS / 1000} s cap)` : ''}`);
  have = registered;
  await settle(agent.pid, 30_000);
  const rss = procStats(agent.pid).rssMb;
  const heap = await heapMb(agent);
  const perInst = (await usedMemory() - mem0) / registered;
  console.log(`agent RSS ${rss.toFixed(0)} MB, heap ${heap.toFixed(0)} MB; redis ${perInst.toFixed(0)} B/instance`);

  // A second agent on the same Redis: spawn → ready (its view holds the whole catalog).
  const second = await startAgent(ROOT, `scale-start-${target}`, redis.url);
  const startMs = second.startMs;
  await second.stop();
  await request(port, 'PUT', '/v1/catalog/deregister', JSON.stringify({ Node: `scale-start-${target}` }));
  console.log(`agent start ${startMs.toFixed(0)} ms`);

  // DNS for the 1,000-instance service: each query follows a check flip on it (a cache miss).
  const udp = udpClient(agent.dns);
  const tcp = await tcpClient(agent.dns);
  const aLat: number[] = [], srvLat: number[] = [];
  let aAnswers = 0, srvAnswers = 0, dnsTimeouts = 0;
  for (let k = 0; k < FLIPS * 2; k++) {
    await flip((k % 997) * 10);
    const t0 = performance.now();
    let reply: Buffer | null = null;
    try {
      reply = k % 2 === 0 ? await udp.ask(dnsQuery(k, 'big.service.consul', 1, 4096)) : await tcp.ask(dnsQuery(k, 'big.service.consul', 33));
    } catch { dnsTimeouts++; } // no answer within 15 s: counted, and kept in the percentiles as Infinity
    const ms = reply ? performance.now() - t0 : Infinity;
    if (k % 2 === 0) { aLat.push(ms); if (reply) aAnswers = ancount(reply); } else { srvLat.push(ms); if (reply) srvAnswers = ancount(reply); }
  }
  udp.close();
  tcp.close();
  if (dnsTimeouts) console.log(`${dnsTimeouts} DNS queries unanswered within 15 s`);
  const aQps = await dnsperf(join(tmp, 'a.txt'), ['-e']);
  const srvTcpQps = await tcpQps(agent.dns, dnsQuery(1, 'big.service.consul', 33));
  const dns = { timeouts: dnsTimeouts, aMissP50: pct(aLat, 50), aMissP99: pct(aLat, 99), aAnswers, srvMissP50: pct(srvLat, 50), srvMissP99: pct(srvLat, 99), srvAnswers, aQps, srvTcpQps };
  console.log(`dns miss A/EDNS p50 ${dns.aMissP50.toFixed(2)} p99 ${dns.aMissP99.toFixed(2)} ms (${aAnswers} answers); SRV/TCP p50 ${dns.srvMissP50.toFixed(2)} p99 ${dns.srvMissP99.toFixed(2)} ms (${srvAnswers}); QPS A ${aQps.toFixed(0)}, SRV/TCP ${srvTcpQps.toFixed(0)}`);

  // Blocking queries on the 50-instance service.
  let w = 0;
  const change = () => flip(1 + (w++ % 50) * 10);
  const path = '/v1/health/service/watched';
  const show = (r: WakeRound) => console.log(`  ${r.watchers} watchers: all ${r.allMs.toFixed(0)} ms (p50 ${r.p50Ms.toFixed(0)}), bad ${r.bad}, RSS ${r.rssIdleMb.toFixed(0)} → parked ${r.rssParkedMb.toFixed(0)} → peak ${r.rssPeakMb.toFixed(0)} → after ${r.rssAfterMb.toFixed(0)} MB, heap after ${r.heapAfterMb.toFixed(0)} MB, wake CPU agent ${r.wakeCpuS.toFixed(2)} s / driver ${r.driverCpuS.toFixed(2)} s, fresh conn ${r.freshConnMs.toFixed(1)} ms`);
  const w5k: WakeRound[] = [], w10k: WakeRound[] = [];
  for (let r = 0; r < Math.min(2, ROUNDS10K); r++) { w5k.push(await wakeRound(agent.pid, port, path, 5000, change, () => heapMb(agent))); show(w5k.at(-1)!); }
  for (let r = 0; r < ROUNDS10K; r++) { w10k.push(await wakeRound(agent.pid, port, path, 10_000, change, () => heapMb(agent))); show(w10k.at(-1)!); }
  let max: WakeRound | undefined;
  if (target === STAGES[Math.floor(STAGES.length / 2)] && MAX_WATCHERS > 0) {
    // As many as the agent's HTTP connection cap allows (its open-file limit less FD_RESERVE, 1,024, src/agent/agent.ts),
    // less 100 for the fresh connection and the driver's own requests: past the cap the agent stops accepting, by design.
    const soft = Number(/^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${agent.pid}/limits`, 'utf8'))?.[1] ?? Infinity);
    const cap = soft - 1024;
    max = await wakeRound(agent.pid, port, path, Math.min(MAX_WATCHERS, cap - 100), change, () => heapMb(agent)); show(max);
  }
  stages.push({ instances: registered, regPerS: reg.perS, regMs: reg.ms, registered: reg.done, rssMb: rss, heapMb: heap, redisBytesPerInstance: perInst, startMs, dns, wake: { w5k, w10k, max } });
  writeFileSync(join(HERE, `results-${LABEL}.json`), JSON.stringify({ label: LABEL, root: ROOT, date: new Date().toISOString(), machine, stages }, null, 1));
  if (registered < target) break;
}

await agent.stop();
rc.disconnect();
await redis.stop();
console.log(`wrote bench/scale/results-${LABEL}.json`);
process.exit(0);
