/**
 * bench/scale helpers: processes (redis-server, agents), HTTP over keep-alive, raw DNS over UDP/TCP,
 * /proc sampling. Everything on loopback; every wait has a deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import dgram from 'node:dgram';
import net from 'node:net';
import { freePort } from '../../src/store/embedded-redis.ts';

export const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

export interface Proc { proc: ChildProcess; pid: number; stop(): Promise<void> }

function stopper(proc: ChildProcess): () => Promise<void> {
  const exited = new Promise<void>(r => proc.once('exit', () => r()));
  return async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
}

/** A private redis-server without persistence (only the catalog's memory is measured). */
export async function startRedis(): Promise<Proc & { port: number; url: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'scale-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await new Promise<boolean>(r => { const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); }); s.on('error', () => r(false)); })) break;
    await sleep(50);
  }
  const stop = stopper(proc);
  return { proc, pid: proc.pid!, port, url, stop: async () => { await stop(); rmSync(dir, { recursive: true, force: true }); } };
}

export interface Agent extends Proc { http: number; dns: number; startMs: number; heapFile: string; log(): string }

/** Starts `<root>/bin/roster agent` against redisUrl; startMs = spawn → /v1/status/leader answers a leader. Retries on a port taken meanwhile. */
export async function startAgent(root: string, node: string, redisUrl: string, deadlineMs = 120_000): Promise<Agent> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startAgentOnce(root, node, redisUrl, deadlineMs);
    } catch (err) {
      if (attempt >= 4 || !/EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
}

async function startAgentOnce(root: string, node: string, redisUrl: string, deadlineMs: number): Promise<Agent> {
  const [httpPort, dnsPort, serfPort] = [await freePort(), await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'scale-agent-'));
  const heapFile = join(dataDir, 'heap.json');
  const t0 = performance.now();
  const proc = spawn(join(root, 'bin/roster'), ['agent', '-dev', '-node', node, '-redis', redisUrl, '-http-port', String(httpPort), '-dns-port', String(dnsPort),
    '-serf-lan-port', String(serfPort), '-serf-wan-port', '-1', '-data-dir', dataDir, '-log-level', 'warn',
    // thousands of watchers come from a handful of loopback addresses: lift the per-client limits (issue 11)
    '-hcl', 'limits { http_max_conns_per_client = 0 \n http_max_blocking_queries_per_client = 0 }'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: `--import=${join(import.meta.dirname, 'heap-probe.mjs')} ${process.env.SCALE_AGENT_NODE_OPTIONS ?? ''}`, ROSTER_HEAP_PROBE: heapFile },
  });
  let out = '';
  proc.stdout!.on('data', d => { if (out.length < 100_000) out += String(d); });
  proc.stderr!.on('data', d => { if (out.length < 100_000) out += String(d); });
  const stop = stopper(proc);
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`agent exited (${proc.exitCode}): ${out}`);
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/v1/status/leader`, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200 && (await r.json()) !== '') break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) { await stop(); throw new Error(`agent not ready in ${deadlineMs} ms: ${out}`); }
    await sleep(20);
  }
  return { proc, pid: proc.pid!, http: httpPort, dns: dnsPort, startMs: performance.now() - t0, heapFile, log: () => out, stop: async () => { await stop(); rmSync(dataDir, { recursive: true, force: true }); } };
}

/** RSS (MB) and CPU seconds (user+system) of a process, from /proc. */
export function procStats(pid: number): { rssMb: number; cpuS: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssMb: Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024, cpuS: (Number(f[11]) + Number(f[12])) / 100 };
}

/** The agent's heap after a full GC (through heap-probe.mjs), in MB. */
export async function heapMb(a: Agent): Promise<number> {
  rmSync(a.heapFile, { force: true });
  a.proc.kill('SIGUSR2');
  for (let i = 0; i < 100 && !existsSync(a.heapFile); i++) await sleep(50);
  await sleep(50);
  try { return JSON.parse(readFileSync(a.heapFile, 'utf8')).heapUsed / 2 ** 20; } catch { return NaN; }
}

/** Waits until the process uses under 5 % of a CPU over 500 ms (max `capMs`). */
export async function settle(pid: number, capMs = 20_000): Promise<void> {
  const end = Date.now() + capMs;
  let prev = procStats(pid).cpuS;
  while (Date.now() < end) {
    await sleep(500);
    const cur = procStats(pid).cpuS;
    if (cur - prev < 0.025) return;
    prev = cur;
  }
}

export const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** One HTTP request with a deadline. */
export function request(port: number, method: string, path: string, body?: string, opts: { agent?: http.Agent; timeoutMs?: number; localAddress?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: opts.agent ?? keepAlive, localAddress: opts.localAddress, headers: body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {} }, res => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new Error(`timeout ${method} ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs op(i) for i < n with `conc` in flight, until done or `capMs`; returns how many completed and the rate. */
export async function closedLoop(n: number, conc: number, capMs: number, op: (i: number) => Promise<void>): Promise<{ done: number; perS: number; ms: number }> {
  let next = 0, done = 0;
  const t0 = performance.now();
  const end = t0 + capMs;
  await Promise.all(Array.from({ length: conc }, async () => {
    for (let i = next++; i < n && performance.now() < end; i = next++) { await op(i); done++; }
  }));
  const ms = performance.now() - t0;
  return { done, perS: done / (ms / 1000), ms };
}

/** A DNS query: name, type, optional EDNS buffer size. */
export function dnsQuery(id: number, name: string, qtype: number, edns = 0): Buffer {
  const labels = name.split('.').filter(Boolean).flatMap(l => [Buffer.from([l.length]), Buffer.from(l)]);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(edns ? 1 : 0, 10);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(qtype, 0);
  q.writeUInt16BE(1, 2);
  const opt = edns ? Buffer.from([0, 0, 41, edns >> 8, edns & 255, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0);
  return Buffer.concat([head, ...labels, Buffer.from([0]), q, opt]);
}

/** Answer count of a reply. */
export const ancount = (b: Buffer) => b.readUInt16BE(6);

/** A UDP client: sends one query, resolves with the reply (deadline 15 s). */
export function udpClient(port: number) {
  const s = dgram.createSocket('udp4');
  let pending: ((b: Buffer) => void) | null = null;
  s.on('message', m => { const p = pending; pending = null; p?.(m); });
  return {
    ask: (q: Buffer) => new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => { pending = null; reject(new Error('udp timeout')); }, 15_000);
      pending = b => { clearTimeout(t); resolve(b); };
      s.send(q, port, '127.0.0.1');
    }),
    close: () => s.close(),
  };
}

/** A TCP client (RFC 7766 framing), one query at a time. */
export async function tcpClient(port: number) {
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => { s.once('connect', () => r()); s.once('error', j); });
  s.setNoDelay(true);
  let buf = Buffer.alloc(0);
  let pending: ((b: Buffer) => void) | null = null;
  s.on('data', d => {
    buf = Buffer.concat([buf, d]);
    if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
      buf = buf.subarray(2 + m.length);
      const p = pending; pending = null; p?.(m);
    }
  });
  return {
    ask: (q: Buffer) => new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => { pending = null; reject(new Error('tcp timeout')); }, 15_000);
      pending = b => { clearTimeout(t); resolve(b); };
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      s.write(Buffer.concat([len, q]));
    }),
    close: () => s.destroy(),
  };
}

export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
}

/**
 * Closed-loop DNS over TCP: `conns` connections, `depth` queries in flight on each, for `ms`;
 * returns answers per second. (dnsperf drops TCP replies as large as a 1,000-record SRV answer.)
 */
export async function tcpQps(port: number, q: Buffer, conns = 4, depth = 16, ms = 4000): Promise<number> {
  const framed = Buffer.alloc(2 + q.length);
  framed.writeUInt16BE(q.length);
  q.copy(framed, 2);
  let answers = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conns }, () => new Promise<void>(resolve => {
    const s = net.connect(port, '127.0.0.1');
    let need = -1, have = 0, pending: Buffer | null = null;
    const send = () => { if (performance.now() < end) s.write(framed); };
    s.on('connect', () => { for (let i = 0; i < depth; i++) send(); });
    let inflight = depth;
    s.on('data', (d: Buffer) => {
      let off = 0;
      while (off < d.length) {
        if (need < 0) {
          // The 2-byte length may straddle chunks.
          if (pending) { d = Buffer.concat([pending, d.subarray(off)]); off = 0; pending = null; }
          if (d.length - off < 2) { pending = Buffer.from(d.subarray(off)); break; }
          need = d.readUInt16BE(off); off += 2; have = 0;
        }
        const take = Math.min(need - have, d.length - off);
        have += take; off += take;
        if (have === need) {
          need = -1; answers++; inflight--;
          if (performance.now() < end) { inflight++; send(); }
          else if (inflight === 0) { s.destroy(); resolve(); }
        }
      }
    });
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    setTimeout(() => { s.destroy(); resolve(); }, ms + 5000).unref();
  })));
  return answers / ((performance.now() - t0) / 1000);
}
