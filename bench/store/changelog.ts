/**
 * The change log against the old pub/sub + periodic reload (issue 12 §3), one command:
 *   node bench/store/changelog.ts [instances=20000] [agents=3] [idleSeconds=60]
 *   ROSTER_SRC=/path/to/other/checkout/src ROSTER_LABEL=before node bench/store/changelog.ts ...
 * Starts a redis-server, registers `instances` (5 per node, one TTL check per node), then runs
 * `agents` agent processes, each with the real syncer + view of ROSTER_SRC (the part of an agent that
 * talks to Redis for the catalog; DNS reads that view). Measures, on loopback:
 *  - start: spawn → whole catalog in the view (ms), agent RSS after load, Redis memory per instance;
 *  - idle: bytes Redis sent during `idleSeconds` with one agent and nothing changing (per minute);
 *  - reconnect: the agent's Redis connections for changes killed, 100 changes while it is away:
 *    bytes Redis sent until it has them, and whether it reloaded everything;
 *  - forced reload: the same with the log trimmed meanwhile (a full reload either way): bytes, and the
 *    longest event-loop delay while the snapshot is applied to the serving view;
 *  - propagation: 50 registrations, one every 100 ms: time until each agent's view holds it (p50/p99);
 *  - concurrent writers: 2 processes flipping checks for 10 s: full reloads set off;
 *  - stalls: the longest event-loop delay in any agent during all of the above (DNS answers wait that long).
 * Every phase is bounded in count and time; everything stops by itself.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { runFlippers } from './check-flipper.ts';
import { fillCatalog } from './fill-catalog.ts';

const SRC = resolve(process.env.ROSTER_SRC ?? join(import.meta.dirname, '../../src'));
const { CatalogStore } = await import(join(SRC, 'store/catalog-store.ts'));
const { keysFor } = await import(join(SRC, 'store/keys.ts'));
const keys = keysFor('dc1');

if (process.argv[2] === 'agent') {
  // One agent: syncer + view; reports when probes appear, its reloads, RSS and worst event-loop delay.
  const { CatalogView } = await import(join(SRC, 'catalog/view.ts'));
  const { CatalogSyncer } = await import(join(SRC, 'catalog/syncer.ts'));
  const redis = new Redis(process.argv[3]!, { connectionName: 'bench-agent' });
  const store = new CatalogStore(redis, keys);
  let loads = 0;
  const orig = store.loadAll.bind(store);
  store.loadAll = (...a: unknown[]) => { loads++; return orig(...a); };
  const view = new CatalogView();
  const h = monitorEventLoopDelay({ resolution: 1 });
  // The longest GC pause in each stats window (kind: 1 minor, 4 major, 8 incremental, 16 weak callbacks).
  let gcMax = 0, gcKind = 0;
  new PerformanceObserver(l => { for (const e of l.getEntries()) if (e.duration > gcMax) { gcMax = e.duration; gcKind = (e as { detail?: { kind?: number } }).detail?.kind ?? 0; } }).observe({ entryTypes: ['gc'] });
  // The longest stretch of main-thread CPU between two turns of a 1 ms timer: what a DNS answer would wait on an
  // idle machine. Unlike the loop delay it leaves out time the OS gave other processes (a shared 2-CPU machine).
  const tcpu = () => { const u = process.threadCpuUsage(); return (u.user + u.system) / 1000; };
  let cpuMax = 0, lastCpu = tcpu();
  let lastNs = process.hrtime.bigint();
  const longTasks: string[] = []; // BENCH_LONG_TASKS=1: [start, end] µs (the CPU profiler's clock) of stretches over 6 ms of CPU
  setInterval(() => {
    const c = tcpu(); const ns = process.hrtime.bigint();
    if (c - lastCpu > cpuMax) cpuMax = c - lastCpu;
    if (process.env.BENCH_LONG_TASKS && c - lastCpu > 6) longTasks.push(`${lastNs / 1000n}-${ns / 1000n}:${(c - lastCpu).toFixed(1)}`);
    lastCpu = c; lastNs = ns;
  }, 1).unref();
  process.on('exit', () => { if (longTasks.length) console.error('LONG_TASKS ' + longTasks.join(' ')); });
  const seen = new Set<string>();
  view.on('change', (ch: { services: Set<string> }) => {
    const now = Date.now();
    for (const s of ch.services) if (s.startsWith('probe-') && !seen.has(s) && view.instances(s).length) { seen.add(s); process.send!({ type: 'seen', name: s, at: now }); }
  });
  const syncer = new CatalogSyncer(store, view, {});
  await syncer.start();
  let n = 0;
  for (const st of view.nodes()) n += st.services.size;
  h.enable();
  process.send!({ type: 'ready', at: Date.now(), instances: n, rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed });
  process.on('message', (m: { type: string }) => {
    if (m.type === 'stats') { process.send!({ type: 'stats', loads, maxDelayMs: h.max / 1e6, p99DelayMs: h.percentile(99) / 1e6, rss: process.memoryUsage().rss, gcMaxMs: gcMax, gcKind, cpuMaxMs: cpuMax }); h.reset(); gcMax = 0; cpuMax = 0; }
    if (m.type === 'stop') { void syncer.stop().then(() => { redis.disconnect(); process.exit(0); }); }
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const { startEmbeddedRedis } = await import(join(SRC, 'store/embedded-redis.ts'));
  const instances = Number(process.argv[2] ?? 20_000);
  const agentsN = Number(process.argv[3] ?? 3);
  const idleSeconds = Number(process.argv[4] ?? 60);
  const label = process.env.ROSTER_LABEL ?? SRC;
  const nodes = Math.ceil(instances / 5);
  const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
  const d = (x: number) => x.toFixed(1);
  const r = await startEmbeddedRedis(mkdtempSync(join(tmpdir(), 'roster-bench-')));
  const admin = new Redis(r.url);
  const writer = new CatalogStore(new Redis(r.url), keys);
  const info = async (sec: string, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(await admin.info(sec))![1]);
  const mem0 = await info('memory', 'used_memory');
  await fillCatalog(writer, nodes);
  const redisPerInstance = ((await info('memory', 'used_memory')) - mem0) / instances;

  interface Agent { proc: ChildProcess; readyIn: number; rss: number; seen: Map<string, number>; stats?: { loads: number; maxDelayMs: number; p99DelayMs: number; rss: number; gcMaxMs: number; gcKind: number; cpuMaxMs: number } }
  const spawnAgent = async (): Promise<Agent> => {
    const t0 = Date.now();
    const proc = fork(import.meta.filename, ['agent', r.url], { env: process.env, execArgv: [...process.execArgv, ...(process.env.BENCH_AGENT_ARGS ?? '').split(' ').filter(Boolean)], stdio: ['ignore', process.env.BENCH_VERBOSE ? 'inherit' : 'ignore', 'inherit', 'ipc'] });
    const a: Agent = { proc, readyIn: 0, rss: 0, seen: new Map() };
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error('agent did not load within 60 s')), 60_000);
      proc.on('message', (m: { type: string; at: number; name: string; rss: number; instances: number } & NonNullable<Agent['stats']>) => {
        if (m.type === 'ready') { clearTimeout(t); a.readyIn = m.at - t0; a.rss = m.rss; if (m.instances < instances) rej(new Error(`loaded ${m.instances}`)); res(); }
        if (m.type === 'seen') a.seen.set(m.name, m.at);
        if (m.type === 'stats') a.stats = m;
      });
    });
    return a;
  };
  type Stats = NonNullable<Agent['stats']>;
  const stats = async (a: Agent): Promise<Stats> => {
    a.stats = undefined;
    a.proc.send({ type: 'stats' });
    for (let i = 0; i < 1000; i++) { const s = a.stats as Stats | undefined; if (s) return s; await sleep(10); }
    throw new Error('agent did not answer stats');
  };

  const first = await spawnAgent();
  // Idle: nothing changes; what does the agent read?
  const idle0 = await info('stats', 'total_net_output_bytes');
  await sleep(idleSeconds * 1000);
  const idleBytes = (await info('stats', 'total_net_output_bytes')) - idle0;

  // Reconnect: drop the agent's change connections (stream reader, or pub/sub subscriber), write 100 changes meanwhile.
  const loadsBefore = (await stats(first)).loads;
  const rc0 = await info('stats', 'total_net_output_bytes');
  const list = String(await admin.call('CLIENT', 'LIST'));
  for (const line of list.split('\n')) if (/ name=roster-changes | sub=[1-9]/.test(line)) await admin.call('CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
  for (let i = 0; i < 99; i++) await writer.updateCheck(`n${i}`, 'c', 'warning', 'reconnect');
  await writer.register({ nodeName: 'n0', node: null, services: [{ ID: 'probe-reconnect', Service: 'probe-reconnect', Tags: [], Address: '', Meta: {}, Port: 1, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false }], checks: [] });
  for (let i = 0; i < 500 && !first.seen.has('probe-reconnect'); i++) await sleep(20);
  await sleep(1000);
  const reconnectBytes = (await info('stats', 'total_net_output_bytes')) - rc0;
  const rcStats = await stats(first);
  const reconnectReloads = rcStats.loads - loadsBefore;

  // A forced full reload: the same, and the log trimmed while the agent is away (before: any reconnect reloads).
  const fr0 = await info('stats', 'total_net_output_bytes');
  const list2 = String(await admin.call('CLIENT', 'LIST'));
  for (const line of list2.split('\n')) if (/ name=roster-changes | sub=[1-9]/.test(line)) await admin.call('CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
  for (let i = 0; i < 99; i++) await writer.updateCheck(`n${i}`, 'c', 'critical', 'reload');
  await writer.register({ nodeName: 'n1', node: null, services: [{ ID: 'probe-reload', Service: 'probe-reload', Tags: [], Address: '', Meta: {}, Port: 1, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false }], checks: [] });
  await admin.xtrim(keys.stream ?? 'none', 'MAXLEN', 1);
  for (let i = 0; i < 1500 && !first.seen.has('probe-reload'); i++) await sleep(20);
  await sleep(3000);
  const reloadBytes = (await info('stats', 'total_net_output_bytes')) - fr0;
  const frStats = await stats(first);
  const forcedReloads = frStats.loads - rcStats.loads;

  const agents = [first];
  for (let i = 1; i < agentsN; i++) agents.push(await spawnAgent());
  // Every agent's stats window starts here (a new agent's would otherwise hold its initial load, applied at once before DNS serves).
  await Promise.all(agents.map(stats));
  // Propagation: one registration every 100 ms.
  const sent = new Map<string, number>();
  for (let j = 0; j < 50; j++) {
    const name = `probe-${j}`;
    sent.set(name, Date.now());
    await writer.register({ nodeName: `n${j}`, node: null, services: [{ ID: name, Service: name, Tags: [], Address: '', Meta: {}, Port: 1, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false }], checks: [] });
    await sleep(100);
  }
  await sleep(2000);
  const lags: number[] = [];
  let missing = 0;
  for (const a of agents) for (const [name, at] of sent) { const s = a.seen.get(name); if (s === undefined) missing++; else lags.push(s - at); }
  lags.sort((x, y) => x - y);
  const pct = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] ?? NaN;

  // Concurrent writers: full reloads set off?
  const propStats = await Promise.all(agents.map(stats));
  const loads0 = propStats.map(s => s.loads);
  const writes = await runFlippers(r.url, nodes, 10);
  await sleep(2000);
  const end = await Promise.all(agents.map(stats));
  const writerReloads = end.map((s, i) => s.loads - loads0[i]!);
  const maxDelay = Math.max(...end.map(s => s.maxDelayMs));

  console.log(`| ${label} | ${instances} | ${agentsN} | start ${Math.max(...agents.map(a => a.readyIn))} ms | RSS ${(Math.max(...agents.map(a => a.rss)) / 1e6).toFixed(0)} MB (${(first.rss / instances / 1e3).toFixed(1)} KB/inst) | Redis ${(redisPerInstance / 1e3).toFixed(2)} KB/inst | idle ${(idleBytes / 1e6 * 60 / idleSeconds).toFixed(3)} MB/min | reconnect ${(reconnectBytes / 1e3).toFixed(0)} KB, ${reconnectReloads} reloads, loop delay max ${d(rcStats.maxDelayMs)} ms | forced reload ${(reloadBytes / 1e6).toFixed(1)} MB, ${forcedReloads} reloads, loop delay max ${d(frStats.maxDelayMs)} ms p99 ${d(frStats.p99DelayMs)} ms (longest GC pause ${d(frStats.gcMaxMs)} ms, kind ${frStats.gcKind}; longest main-thread CPU between 1 ms ticks ${d(frStats.cpuMaxMs)} ms) | propagation p50 ${pct(0.5)} ms p99 ${pct(0.99)} ms max ${lags.at(-1)} ms, ${missing} missing | writers ${Math.round((writes[0]! + writes[1]!) / 10)}/s: ${writerReloads.reduce((a, b) => a + b, 0)} reloads | max loop delay: propagation ${d(Math.max(...propStats.map(s => s.maxDelayMs)))}, writers ${d(maxDelay)} ms (main-thread CPU between ticks ${d(Math.max(...propStats.map(s => s.cpuMaxMs)))} / ${d(Math.max(...end.map(s => s.cpuMaxMs)))} ms; GC pause ${d(Math.max(...end.map(s => s.gcMaxMs)))} ms) |`);
  for (const a of agents) a.proc.send({ type: 'stop' });
  await sleep(500);
  for (const a of agents) if (a.proc.exitCode === null) a.proc.kill();
  admin.disconnect();
  writer.redis.disconnect();
  await r.stop();
  process.exit(0);
}
