/**
 * The DNS part of the abuse campaign (issue 11 items 5-8): real `roster agent -dev` processes on
 * free loopback ports, each attack bounded in count and time, one markdown table at the end.
 *
 *   node bench/abuse/dns.ts                         # against ./bin/roster (run `make build` first)
 *   ROSTER_BIN=/tmp/base-dns/bin/roster node bench/abuse/dns.ts   # against another build
 *   ROSTER_ABUSE_NAMES=200000 node bench/abuse/dns.ts             # fewer random names (default 1,000,000)
 *   ROSTER_ABUSE_ONLY=loris,amp node bench/abuse/dns.ts           # a subset: loris, recursor, amp, names
 *
 * Attacks: TCP slow-loris (one address trickling bytes on 1,100 connections, then 20 addresses
 * on 60 each, while another client queries over TCP), a burst of out-of-zone names for a dead recursor, UDP amplification
 * with an EDNS 65,535 query for a node with 64 large meta pairs (without and with
 * rate_limit), and a flood of random in-zone names (agent RSS before/after).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../src/store/embedded-redis.ts';

const BIN = process.env.ROSTER_BIN ?? resolve(import.meta.dirname, '../../bin/roster');
const NAMES = Number(process.env.ROSTER_ABUSE_NAMES ?? 1_000_000);
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

interface Agent { pid: number; http: string; dns: number; proc: ChildProcess; logBytes(): number; stop(): Promise<void> }

async function startAgent(extra: string[] = []): Promise<Agent> {
  const [h, d, s] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'roster-abuse-dns-'));
  const proc = spawn(BIN, ['agent', '-dev', '-node', 'abuse', '-http-port', String(h), '-dns-port', String(d), '-serf-lan-port', String(s), '-serf-wan-port', '-1', '-data-dir', dir, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let bytes = 0; let tail = '';
  const take = (b: Buffer): void => { bytes += b.length; tail = (tail + String(b)).slice(-4000); };
  proc.stdout!.on('data', take); proc.stderr!.on('data', take);
  const http = `http://127.0.0.1:${h}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`agent exited: ${tail}`);
    try { const r = await fetch(`${http}/v1/status/leader`); if (r.ok && (await r.json()) !== '') break; } catch { /* not yet */ }
    if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`agent not ready: ${tail}`); }
    await sleep(100);
  }
  return {
    pid: proc.pid!, http, dns: d, proc, logBytes: () => bytes,
    async stop() {
      if (proc.exitCode === null) { proc.kill('SIGTERM'); const k = setTimeout(() => proc.kill('SIGKILL'), 10_000); await new Promise(r => proc.once('exit', r)); clearTimeout(k); }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const rssMB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/** A minimal DNS query (id, name, type, optional EDNS size). */
function query(id: number, name: string, type = 1, edns = 0): Buffer {
  const labels = name.split('.').filter(Boolean);
  const parts: Buffer[] = [Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0])];
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'));
  parts.push(Buffer.from([0, type >> 8, type & 255, 0, 1]));
  if (edns) parts.push(Buffer.from([0, 0, 41, edns >> 8, edns & 255, 0, 0, 0, 0, 0, 0]));
  return Buffer.concat(parts);
}
const frame = (q: Buffer): Buffer => Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q]);

type Row = [attack: string, measured: string, verdict: string];
const rows: Row[] = [];

// ---- 1. TCP slow-loris: 1,100 connections from 127.0.0.1 trickle one byte a second; 127.0.0.2 asks over TCP every 250 ms.
async function slowLoris(a: Agent, addrs: string[], perAddr: number): Promise<void> {
  const held: net.Socket[] = [];
  const msg = frame(query(1, 'consul', 6));
  const open = async (local: string): Promise<void> => {
    const s = net.connect({ port: a.dns, host: '127.0.0.1', localAddress: local });
    s.on('error', () => {});
    await new Promise<void>(r => { s.once('connect', () => r()); s.once('close', () => r()); setTimeout(r, 1000); });
    if (!s.destroyed) { s.write(msg.subarray(0, 1)); held.push(s); }
  };
  for (let i = 0; i < perAddr; i++) for (const local of addrs) await open(local);
  let sent = 1;
  const trickle = setInterval(() => { for (const s of held) if (!s.destroyed) s.write(msg.subarray(sent % msg.length, sent % msg.length + 1)); sent++; }, 1000);
  await sleep(1500);
  const alive = held.filter(s => !s.destroyed).length;
  const waits: number[] = []; let unanswered = 0;
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const t0 = Date.now();
    const ok = await new Promise<boolean>(res => {
      const s = net.connect({ port: a.dns, host: '127.0.0.1', localAddress: '127.0.0.2' });
      const timer = setTimeout(() => { s.destroy(); res(false); }, 3000);
      s.on('error', () => {}); s.on('close', () => { clearTimeout(timer); res(false); });
      s.on('connect', () => s.write(frame(query(2, 'consul', 6))));
      s.on('data', () => { clearTimeout(timer); s.destroy(); res(true); });
    });
    if (ok) waits.push((Date.now() - t0) / 1000); else unanswered++;
    await sleep(250);
  }
  clearInterval(trickle);
  const stillHeld = held.filter(s => !s.destroyed).length;
  for (const s of held) s.destroy();
  const worst = waits.length ? Math.max(...waits) : NaN;
  rows.push([`TCP slow-loris: ${(addrs.length * perAddr).toLocaleString('en')} connections from ${addrs.length === 1 ? 'one address' : `${addrs.length} addresses`}, 1 byte/s; another client queries over TCP every 250 ms for 10 s`,
    `attacker connections open after 1.5 s: ${alive}, after 11.5 s: ${stillHeld}; other client: ${waits.length} answered, ${unanswered} not (3 s timeout), worst wait ${worst.toFixed(3)} s`,
    unanswered === 0 ? 'other clients answered' : 'other clients starved']);
}

// ---- 2. Dead recursor: 20,000 out-of-zone names in ~2 s; agent fds, SERVFAIL latency, in-zone answers, log bytes.
async function deadRecursor(): Promise<void> {
  const dead = dgram.createSocket('udp4');
  await new Promise<void>(r => dead.bind(0, '127.0.0.1', () => r()));
  const a = await startAgent(['-recursor', `127.0.0.1:${dead.address().port}`]);
  try {
    const c = dgram.createSocket('udp4');
    await new Promise<void>(r => c.bind(0, '127.0.0.1', () => r()));
    const sentAt = new Map<number, number>(); const lat: number[] = []; let inZone = 0; let inZoneAsked = 0;
    c.on('message', m => { const id = m.readUInt16BE(0); if (id >= 60000) { inZone++; return; } const t = sentAt.get(id); if (t !== undefined) { lat.push(Date.now() - t); sentAt.delete(id); } });
    const fd0 = fdCount(a.pid); let fdPeak = fd0; const log0 = a.logBytes();
    const sampler = setInterval(() => { try { fdPeak = Math.max(fdPeak, fdCount(a.pid)); } catch { /* gone */ } }, 20);
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      const id = i % 60000; sentAt.set(id, Date.now());
      c.send(query(id, `x${i}-${(Math.random() * 1e9) | 0}.example.org`), a.dns, '127.0.0.1');
      if (i % 100 === 99) { c.send(query(60000 + (inZoneAsked++ % 5000), 'consul', 6), a.dns, '127.0.0.1'); await sleep(10); }
    }
    await sleep(2500); // recursor_timeout 2 s: every forwarded query has failed by now
    clearInterval(sampler);
    lat.sort((x, y) => x - y);
    const within1s = lat.filter(x => x < 1000).length;
    rows.push(['dead recursor: 20,000 out-of-zone names over UDP in ~2 s (upstream never answers, recursor_timeout 2 s)',
      `agent fds ${fd0} → peak ${fdPeak}; answered ${lat.length} (${within1s} within 1 s, p50 ${lat[lat.length >> 1] ?? NaN} ms); in-zone ${inZone}/${inZoneAsked} answered during the flood; log written ${((a.logBytes() - log0) / 1024).toFixed(1)} KB`,
      fdPeak - fd0 <= 200 && inZone >= inZoneAsked * 0.95 ? 'bounded' : 'unbounded']);
    c.close();
  } finally { await a.stop(); dead.close(); }
}

// ---- 3. Amplification: node with 64 meta pairs (128-char keys, 512-char values, Consul's limits), EDNS 65,535 queries.
async function amplification(rateLimit: boolean): Promise<void> {
  const a = await startAgent(rateLimit ? ['-hcl', 'dns_config { rate_limit { enabled = true exempt_loopback = false } }'] : []);
  try {
    const meta: Record<string, string> = {};
    for (let i = 0; i < 64; i++) meta[`k${String(i).padStart(3, '0')}${'x'.repeat(124)}`] = 'v'.repeat(512);
    const r = await fetch(`${a.http}/v1/catalog/register`, { method: 'PUT', body: JSON.stringify({ Node: 'big', Address: '10.9.9.9', NodeMeta: meta }) });
    if (!r.ok) throw new Error(`register: ${r.status} ${await r.text()}`);
    await sleep(300);
    const c = dgram.createSocket('udp4');
    await new Promise<void>(res => c.bind(0, '127.0.0.1', () => res()));
    let out = 0; let inB = 0; let replies = 0; let biggest = 0;
    c.on('message', m => { out += m.length; replies++; biggest = Math.max(biggest, m.length); });
    const N = rateLimit ? 2000 : 200;
    for (let i = 0; i < N; i++) {
      const q = query(i, 'big.node.consul', 16, 65535); // TXT
      c.send(q, a.dns, '127.0.0.1'); inB += q.length;
      if (i % 20 === 19) await sleep(5);
    }
    await sleep(1000);
    c.close();
    rows.push([`UDP amplification: ${N} EDNS 65,535 TXT queries for a node with 64 meta pairs${rateLimit ? ', rate_limit on (loopback not exempt)' : ' (defaults)'}`,
      `${inB} B in, ${out} B out in ${replies} replies, largest ${biggest} B: factor **${(out / inB).toFixed(1)}×**`,
      biggest <= 4096 ? (rateLimit ? 'capped and rate-limited' : 'capped at 4,096 B') : 'amplifier']);
  } finally { await a.stop(); }
}

// ---- 4. Memory: NAMES random in-zone names over UDP (closed loop, ≤ 2,000 outstanding, ≤ 150 s); agent RSS.
async function randomNames(): Promise<void> {
  const a = await startAgent();
  try {
    const c = dgram.createSocket('udp4');
    await new Promise<void>(res => c.bind(0, '127.0.0.1', () => res()));
    try { c.setRecvBufferSize(8 << 20); } catch { /* best effort */ }
    let got = 0; c.on('message', () => { got++; });
    await sleep(2000);
    const rss0 = rssMB(a.pid);
    let sent = 0; let peak = rss0;
    const t0 = Date.now(); const end = t0 + 150_000;
    const sampler = setInterval(() => { try { peak = Math.max(peak, rssMB(a.pid)); } catch { /* gone */ } }, 250);
    const suffixes = ['service.consul', 'node.consul', 'consul', 'service.dc1.consul'];
    while (sent < NAMES && Date.now() < end) {
      if (sent - got > 2000) { await sleep(2); if (sent - got > 2000 && Date.now() - t0 > 1000) got = Math.max(got, sent - 1000); continue; }
      for (let i = 0; i < 200 && sent < NAMES; i++, sent++) {
        c.send(query(sent & 0xffff, `${Math.random().toString(36).slice(2, 12)}.${suffixes[sent & 3]}`, sent % 3 === 0 ? 33 : 1), a.dns, '127.0.0.1');
      }
      await new Promise(r => setImmediate(r));
    }
    const secs = (Date.now() - t0) / 1000;
    await sleep(1000);
    const rssAfter = rssMB(a.pid);
    await sleep(10_000);
    const rssSettled = rssMB(a.pid);
    clearInterval(sampler);
    c.close();
    rows.push([`random in-zone names: ${sent.toLocaleString('en')} over UDP in ${secs.toFixed(0)} s (${(sent / secs / 1000).toFixed(1)}k/s)`,
      `agent RSS ${rss0.toFixed(0)} MB → peak ${peak.toFixed(0)} MB, ${rssAfter.toFixed(0)} MB after, ${rssSettled.toFixed(0)} MB 10 s later`,
      rssSettled - rss0 < 150 ? 'bounded' : 'grows']);
  } finally { await a.stop(); }
}

const only = (process.env.ROSTER_ABUSE_ONLY ?? 'loris,recursor,amp,names').split(',');
const t0 = Date.now();
if (only.includes('loris')) {
  for (const [addrs, per] of [[['127.0.0.1'], 1100], [Array.from({ length: 20 }, (_, i) => `127.0.4.${i + 1}`), 60]] as const) {
    const loris = await startAgent();
    try { await slowLoris(loris, [...addrs], per); } finally { await loris.stop(); }
  }
}
if (only.includes('recursor')) await deadRecursor();
if (only.includes('amp')) { await amplification(false); await amplification(true); }
if (only.includes('names')) await randomNames();
console.log(`\nDNS abuse (${BIN}, ${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
console.log('| attack | measured | verdict |\n|---|---|---|');
for (const [x, m, v] of rows) console.log(`| ${x} | ${m} | ${v} |`);
