/**
 * bench/scale/park.ts: what parked watchers cost a fresh agent. One agent, a 50-instance service,
 * then twice: 10,000 raw connections each `GET /v1/health/service/watched?index=<current>&wait=120s`,
 * agent idle (all parked) → RSS and JS heap after a full GC; then every connection is closed.
 *   SCALE_ROOT=<tree> SCALE_LABEL=before|after node bench/scale/park.ts  → bench/scale/park-<label>.json
 */
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { heapMb, procStats, request, settle, sleep, startAgent, startRedis } from './lib.ts';

const ROOT = resolve(process.env.SCALE_ROOT ?? join(import.meta.dirname, '../..'));
const LABEL = process.env.SCALE_LABEL ?? 'after';
const W = 10_000;
const redis = await startRedis();
const agent = await startAgent(ROOT, 'park', redis.url);
const killAll = (why: unknown) => { console.error('park stopped:', why); agent.proc.kill('SIGKILL'); redis.proc.kill('SIGKILL'); process.exit(1); };
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
const index = first.headers['x-consul-index'];
await settle(agent.pid);
const idle = { rssMb: procStats(agent.pid).rssMb, heapMb: await heapMb(agent) };
const rounds: { rssMb: number; heapMb: number; rssClosedMb: number }[] = [];
for (let round = 0; round < 2; round++) {
  const socks: net.Socket[] = [];
  for (let i = 0; i < W; i++) {
    const s = net.connect({ host: '127.0.0.1', port: agent.http, localAddress: `127.0.0.${2 + (i % 8)}` });
    s.on('connect', () => s.write(`GET /v1/health/service/watched?index=${index}&wait=120s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    s.on('error', () => {});
    socks.push(s);
    if (i % 250 === 249) await sleep(10);
  }
  await sleep(500);
  await settle(agent.pid);
  const rssMb = procStats(agent.pid).rssMb;
  const heap = await heapMb(agent);
  for (const s of socks) s.destroy();
  await sleep(1000);
  await settle(agent.pid);
  rounds.push({ rssMb, heapMb: heap, rssClosedMb: procStats(agent.pid).rssMb });
  console.log(`[${LABEL}] round ${round + 1}: idle RSS ${idle.rssMb.toFixed(0)} MB / heap ${idle.heapMb.toFixed(0)} MB → ${W} parked: RSS ${rssMb.toFixed(0)} MB, heap ${heap.toFixed(0)} MB; closed: RSS ${rounds.at(-1)!.rssClosedMb.toFixed(0)} MB`);
}
writeFileSync(join(import.meta.dirname, `park-${LABEL}.json`), JSON.stringify({ label: LABEL, watchers: W, bodyBytes: first.body.length, idle, rounds }, null, 1));
await agent.stop();
await redis.stop();
process.exit(0);
