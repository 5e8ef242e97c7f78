/**
 * bench/scale/park.ts: what parked watchers cost a fresh agent, beside what the same connections cost a
 * bare node:http server (park-bare.mjs) holding them. Roster: one agent, a 50-instance service; then
 * ROUNDS times (default 3): 10,000 raw connections each `GET /v1/health/service/watched?index=<current>&wait=120s`,
 * checked all open and unanswered, process idle → RSS, malloc heap ([heap] in smaps) and JS heap after a
 * full GC; then every connection is closed. The bare server gets the same rounds.
 *   SCALE_ROOT=<tree> SCALE_LABEL=before|base|after node bench/scale/park.ts  → bench/scale/park-<label>.json
 *   PARK_BARE=0 skips the bare server.
 */
import net from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { heapMb, procStats, request, settle, sleep, startAgent, startRedis } from './lib.ts';

const ROOT = resolve(process.env.SCALE_ROOT ?? join(import.meta.dirname, '../..'));
const LABEL = process.env.SCALE_LABEL ?? 'after';
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const W = 10_000;

interface Round { rssMb: number; heapMb: number; mallocMb: number; rssClosedMb: number }
interface Target { name: string; pid: number; port: number; path: string; heap(): Promise<number> }

/** RSS of the main malloc arena ([heap] in smaps): native memory of node's sockets and parsers. */
function mallocMb(pid: number): number {
  const t = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const i = t.indexOf('[heap]');
  return i < 0 ? 0 : Number(/Rss:\s+(\d+) kB/.exec(t.slice(i))![1]) / 1024;
}

async function rounds(t: Target): Promise<{ idle: { rssMb: number; heapMb: number; mallocMb: number }; rounds: Round[] }> {
  await settle(t.pid);
  const idle = { rssMb: procStats(t.pid).rssMb, heapMb: await t.heap(), mallocMb: mallocMb(t.pid) };
  const out: Round[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const socks: net.Socket[] = [];
    let answered = 0, connected = 0;
    for (let i = 0; i < W; i++) {
      const s = net.connect({ host: '127.0.0.1', port: t.port, localAddress: `127.0.0.${2 + (i % 8)}` });
      s.on('connect', () => { connected++; s.write(`GET ${t.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`); });
      s.once('data', () => answered++);
      s.on('error', () => {});
      socks.push(s);
      if (i % 250 === 249) await sleep(10);
    }
    for (let i = 0; i < 100 && connected < W; i++) await sleep(100);
    await sleep(500);
    await settle(t.pid);
    if (connected !== W || answered !== 0) throw new Error(`${t.name} round ${round + 1}: ${connected} of ${W} connected, ${answered} answered before any change`);
    const rssMb = procStats(t.pid).rssMb;
    const heap = await t.heap();
    const malloc = mallocMb(t.pid);
    for (const s of socks) s.destroy();
    await sleep(1000);
    await settle(t.pid);
    out.push({ rssMb, heapMb: heap, mallocMb: malloc, rssClosedMb: procStats(t.pid).rssMb });
    const r = out.at(-1)!;
    console.log(`[${LABEL}] ${t.name} round ${round + 1}: idle RSS ${idle.rssMb.toFixed(0)} MB (malloc ${idle.mallocMb.toFixed(0)}, heap ${idle.heapMb.toFixed(0)}) → ${W} parked: RSS ${r.rssMb.toFixed(0)} MB (+${(r.rssMb - idle.rssMb).toFixed(0)}; malloc ${r.mallocMb.toFixed(0)}, heap ${r.heapMb.toFixed(0)}); closed: RSS ${r.rssClosedMb.toFixed(0)} MB`);
  }
  return { idle, rounds: out };
}

const redis = await startRedis();
const agent = await startAgent(ROOT, 'park', redis.url);
let bare: ReturnType<typeof spawn> | null = null;
const killAll = (why: unknown) => { console.error('park stopped:', why); agent.proc.kill('SIGKILL'); redis.proc.kill('SIGKILL'); bare?.kill('SIGKILL'); process.exit(1); };
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => killAll(sig));
process.on('unhandledRejection', killAll);
for (let i = 0; i < 50; i++) {
  const id = `watched-${i}`;
  await request(agent.http, 'PUT', '/v1/catalog/register', JSON.stringify({
    Node: `n${i}`, Address: `10.0.0.${i}`, NodeMeta: { rack: 'r1' }, Service: { ID: id, Service: 'watched', Port: 8000, Tags: ['v1', 'shard-1'], Meta: { version: '1.2.3' } },
    Check: { CheckID: `service:${id}`, Name: 'c', Status: 'passing', ServiceID: id, Output: 'HTTP GET http://10.0.0.1:8080/health: 200 OK Output: ok' },
  }));
}
const first = await request(agent.http, 'GET', '/v1/health/service/watched');
const path = `/v1/health/service/watched?index=${first.headers['x-consul-index']}&wait=120s`;
const roster = await rounds({ name: 'roster', pid: agent.pid, port: agent.http, path, heap: () => heapMb(agent) });
await agent.stop();
await redis.stop();

let peer: Awaited<ReturnType<typeof rounds>> | undefined;
if (process.env.PARK_BARE !== '0') {
  // Same node binary and heap-probe as the agent; node's default heap flags (the bare server sets none).
  const heapFile = join(tmpdir(), `park-bare-${process.pid}.json`);
  const node = existsSync(join(ROOT, '.node/bin/node')) ? join(ROOT, '.node/bin/node') : process.execPath;
  bare = spawn(node, [`--import=${join(import.meta.dirname, 'heap-probe.mjs')}`, join(import.meta.dirname, 'park-bare.mjs')], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ROSTER_HEAP_PROBE: heapFile } });
  const port = await new Promise<number>((res, rej) => { bare!.stdout!.once('data', d => res(Number(String(d).trim()))); bare!.once('exit', c => rej(new Error(`bare server exited ${c}`))); });
  const heap = async () => {
    rmSync(heapFile, { force: true });
    bare!.kill('SIGUSR2');
    for (let i = 0; i < 100 && !existsSync(heapFile); i++) await sleep(50);
    await sleep(50);
    return JSON.parse(readFileSync(heapFile, 'utf8')).heapUsed / 2 ** 20;
  };
  peer = await rounds({ name: 'bare node:http', pid: bare.pid!, port, path, heap });
  bare.kill('SIGTERM');
  rmSync(heapFile, { force: true });
}
writeFileSync(join(import.meta.dirname, `park-${LABEL}.json`), JSON.stringify({ label: LABEL, watchers: W, bodyBytes: first.body.length, ...roster, bare: peer }, null, 1));
process.exit(0);
