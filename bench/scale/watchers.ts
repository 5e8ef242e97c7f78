/**
 * bench/scale: many blocking queries on one service. Opens W connections (spread over source
 * addresses 127.0.0.2-9 so ephemeral ports never run short), each `GET <path>?index=N&wait=120s`,
 * waits until the agent is idle (every watcher parked), then makes one change and times until every
 * watcher has its answer. Bounded: a round gives up after 60 s and destroys what is left.
 */
import http from 'node:http';
import net from 'node:net';
import { procStats, request, settle, sleep } from './lib.ts';

export interface WakeRound {
  watchers: number;
  /** ms from the change's write until every watcher had its answer. */
  allMs: number;
  p50Ms: number;
  /** Answers that came back before the change, with an error, or not at all. */
  bad: number;
  rssIdleMb: number;
  rssParkedMb: number;
  rssPeakMb: number;
  rssAfterMb: number;
  /** Agent CPU seconds spent from the write until every answer was in. */
  wakeCpuS: number;
  /** Agent heap after a full GC once the round is over (MB). */
  heapAfterMb: number;
  /** This driver's CPU seconds during the wake (it shares the machine with the agent). */
  driverCpuS: number;
  /** A fresh connection (GET /v1/status/leader) while every watcher is parked: ms, or -1 when refused/failed. */
  freshConnMs: number;
}

let addr = 0;

/** One round: `change()` performs the write that must wake every watcher. */
export async function wakeRound(pid: number, port: number, path: string, watchers: number, change: () => Promise<void>, heap: () => Promise<number>): Promise<WakeRound> {
  await settle(pid, 10_000);
  const idle = procStats(pid).rssMb;
  const first = await request(port, 'GET', path);
  const index = Number(first.headers['x-consul-index']);
  const socks: net.Socket[] = [];
  const done: number[] = [];
  let bad = 0, changed = false;
  const all: Promise<void>[] = [];
  const get = Buffer.from(`GET ${path}${path.includes('?') ? '&' : '?'}index=${index}&wait=120s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  for (let i = 0; i < watchers; i++) {
    const localAddress = `127.0.0.${2 + (addr++ % 8)}`;
    // A raw socket (the server closes after its answer): the driver only keeps the head and counts bytes,
    // so 10,000 answers of ~40 KB cost the driver little next to the agent.
    all.push(new Promise<void>(resolve => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress });
      let head = '';
      let bytes = 0;
      s.on('connect', () => s.write(get));
      s.on('data', (d: Buffer) => { if (head.length < 512) head += d.toString('latin1', 0, Math.min(d.length, 512)); bytes += d.length; });
      s.on('end', () => {
        const idx = Number(/\r\nX-Consul-Index: (\d+)/i.exec(head)?.[1]);
        if (!head.startsWith('HTTP/1.1 200') || !changed || !(idx > index) || bytes < 100) bad++;
        done.push(performance.now());
        s.destroy();
        resolve();
      });
      s.on('error', () => { bad++; resolve(); });
      socks.push(s);
    }));
    if (i % 250 === 249) await sleep(10);
  }
  // Every watcher parked: the agent is idle again (it renders nothing more while they wait).
  await sleep(500);
  await settle(pid, 30_000);
  const parked = procStats(pid).rssMb;
  const f0 = performance.now();
  let freshConnMs = -1;
  try {
    const r = await request(port, 'GET', '/v1/status/leader', undefined, { agent: new http.Agent({ keepAlive: false }), timeoutMs: 5000 });
    if (r.status === 200) freshConnMs = performance.now() - f0;
  } catch { /* refused or timed out */ }
  let peak = parked;
  const sampler = setInterval(() => { peak = Math.max(peak, procStats(pid).rssMb); }, 25);
  const cpu0 = procStats(pid).cpuS;
  const drv0 = process.cpuUsage();
  const early = done.length;
  changed = true;
  const t0 = performance.now();
  await change();
  const timeout = sleep(60_000).then(() => 'timeout' as const);
  const res = await Promise.race([Promise.all(all).then(() => 'ok' as const), timeout]);
  if (res === 'timeout') for (const x of socks) x.destroy();
  clearInterval(sampler);
  const wakeCpuS = procStats(pid).cpuS - cpu0;
  const drv = process.cpuUsage(drv0);
  const lat = done.slice(early).map(x => x - t0).sort((a, b) => a - b);
  await sleep(300);
  const after = procStats(pid).rssMb;
  const heapAfterMb = await heap();
  return {
    watchers, allMs: res === 'ok' ? lat.at(-1) ?? NaN : Infinity, p50Ms: lat[Math.floor(lat.length / 2)] ?? NaN,
    bad: bad + (watchers - done.length), rssIdleMb: idle, rssParkedMb: parked, rssPeakMb: peak, rssAfterMb: after, wakeCpuS, freshConnMs, heapAfterMb, driverCpuS: (drv.user + drv.system) / 1e6,
  };
}
