/**
 * Abuse campaign, agent / checks / secrets part (issue 11 items 2, 9, 10, 12, 13): starts real
 * `roster agent -dev` processes on free loopback ports and runs each attack bounded in count and
 * time, then prints one markdown table. Builds nothing: run `make build` first.
 *
 *   node bench/abuse/agent.ts                           # against this checkout's bin/roster
 *   ROSTER_BIN=/tmp/base/bin/roster node bench/abuse/agent.ts   # against another build (e.g. main)
 *   ABUSE_ONLY=slowTargets,secrets node bench/abuse/agent.ts      # a subset (function names below)
 *
 * Every loop has a fixed count or deadline; all traffic stays on 127.0.0.1; every process and
 * server started here is stopped at the end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Socket, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../src/store/embedded-redis.ts';

const ROSTER = process.env.ROSTER_BIN ?? resolve(import.meta.dirname, '../../bin/roster');
const rows: [string, string, string, string][] = [];
const cleanup: (() => void | Promise<void>)[] = [];
const row = (attack: string, measured: string, value: string, verdict: string) => { rows.push([attack, measured, value, verdict]); process.stderr.write(`  ${attack}: ${value} (${verdict})\n`); };

interface Agent { http: string; node: string; dataDir: string; proc: ChildProcess; log: () => string; stop: () => Promise<void> }

async function startAgent(args: string[] = [], env: Record<string, string> = {}): Promise<Agent> {
  const [h, d, s] = [await freePort(), await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'roster-abuse-'));
  const node = `abuse-${randomBytes(3).toString('hex')}`;
  const proc = spawn(ROSTER, ['agent', '-dev', '-node', node, '-http-port', String(h), '-dns-port', String(d), '-serf-lan-port', String(s), '-serf-wan-port', '-1', '-data-dir', dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  proc.stdout!.on('data', c => { out += String(c); });
  proc.stderr!.on('data', c => { out += String(c); });
  const http = `http://127.0.0.1:${h}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const done = new Promise(r => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(t);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  cleanup.push(stop);
  const end = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`agent exited: ${out}`);
    try { const r = await fetch(`${http}/v1/status/leader`); if (r.status === 200 && (await r.json()) !== '') break; } catch { /* starting */ }
    if (Date.now() > end) throw new Error(`agent not ready in 20 s: ${out}`);
    await sleep(100);
  }
  return { http, node, dataDir, proc, log: () => out, stop };
}

async function req(a: Agent, method: string, path: string, body?: unknown): Promise<{ status: number; text: string; json: any }> {
  const r = await fetch(a.http + path, { method, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  let json: any;
  try { json = JSON.parse(text); } catch { /* text */ }
  return { status: r.status, text, json };
}

const rssMB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const listen = async <T extends Server | ReturnType<typeof createTcpServer>>(s: T) => { await new Promise<void>(r => s.listen(0, '127.0.0.1', r)); cleanup.push(() => { (s as Server).closeAllConnections?.(); s.close(); }); return (s.address() as AddressInfo).port; };
const supports = (flag: string) => String(spawnSync(ROSTER, ['agent', '-h'], { encoding: 'utf8', timeout: 10_000 }).stderr + spawnSync(ROSTER, ['agent', '-h'], { encoding: 'utf8', timeout: 10_000 }).stdout).includes(flag);

/** Item 2: the agent's own node deleted through the catalog API. */
async function deletedNode(): Promise<void> {
  const a = await startAgent();
  await req(a, 'PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web1', Port: 80 });
  await req(a, 'PUT', '/v1/catalog/deregister', { Node: a.node });
  const t0 = Date.now();
  let refused = 0, tried = 0, backAfter = -1;
  for (let i = 0; i < 30; i++) { // 30 registrations, 100 ms apart (3 s)
    tried++;
    const r = await req(a, 'PUT', '/v1/agent/service/register', { Name: 'api', ID: `api${i}`, Port: 90 });
    if (r.status !== 200) refused++;
    if (backAfter < 0 && (await req(a, 'GET', `/v1/catalog/node/${a.node}`)).json?.Services?.web1) backAfter = Date.now() - t0;
    await sleep(100);
  }
  row('delete the agent\'s own node (`PUT /v1/catalog/deregister`)', 'agent registrations refused afterwards (of 30 in 3 s); own service back after', `${refused}/${tried} refused; ${backAfter < 0 ? 'never back (3 s)' : `back in ${backAfter} ms`}`, refused === 0 && backAfter >= 0 ? 'fixed' : 'VULNERABLE');
  await a.stop();
}

/** Item 9: 60 check targets that never answer next to 20 healthy ones. */
async function slowTargets(): Promise<void> {
  const held: Socket[] = [];
  const black = createTcpServer(s => { held.push(s); s.on('error', () => {}); });
  const blackPort = await listen(black);
  cleanup.push(() => { for (const s of held) s.destroy(); });
  const hits = new Map<string, number[]>();
  const ok = createServer((q, r) => { (hits.get(q.url!) ?? hits.set(q.url!, []).get(q.url!)!).push(Date.now()); r.end('ok'); });
  const okPort = await listen(ok);
  const a = await startAgent();
  for (let i = 0; i < 60; i++) await req(a, 'PUT', '/v1/agent/check/register', { ID: `slow${i}`, Name: `slow${i}`, HTTP: `http://127.0.0.1:${blackPort}/`, Interval: '1s', Timeout: '10s' });
  for (let i = 0; i < 20; i++) await req(a, 'PUT', '/v1/agent/check/register', { ID: `ok${i}`, Name: `ok${i}`, HTTP: `http://127.0.0.1:${okPort}/ok${i}`, Interval: '1s', Timeout: '10s' });
  await sleep(3000);
  const from = Date.now();
  await sleep(12_000);
  const to = Date.now();
  let runs = 0, gap = 0;
  for (let i = 0; i < 20; i++) {
    // Gaps between runs, counting the window's edges: a check that never ran in the window has a 12 s gap.
    const w = [from, ...(hits.get(`/ok${i}`) ?? []).filter(x => x >= from && x <= to), to];
    runs += w.length - 2;
    for (let j = 1; j < w.length; j++) gap = Math.max(gap, w[j]! - w[j - 1]!);
  }
  // A healthy check that never ran in the window: does the agent still show it passing?
  const checks = (await req(a, 'GET', '/v1/agent/checks')).json ?? {};
  const starvedPassing = Array.from({ length: 20 }, (_, i) => `ok${i}`).filter(id => !(hits.get(`/${id}`) ?? []).some(x => x >= from) && checks[id]?.Status === 'passing').length;
  row('60 HTTP check targets that never answer (10 s timeout) + 20 healthy 1 s checks', 'healthy runs in 12 s (ideal 240); worst gap of one check', `${runs} runs; worst gap ${(gap / 1000).toFixed(1)} s; ${starvedPassing} unrun checks shown passing`, runs >= 216 && gap <= 2500 ? 'fixed' : 'VULNERABLE');
  await a.stop();
}

/** Item 10: a check target answering 10 MB, and one whose body never ends. */
async function bigBodies(): Promise<void> {
  let sent = 0, requests = 0;
  const big = createServer((_q, r) => {
    requests++;
    r.writeHead(200, { 'Content-Length': String(10 << 20) });
    const chunk = Buffer.alloc(64 << 10, 'y');
    let n = 0;
    const pump = () => { while (n < 10 << 20) { n += chunk.length; sent += chunk.length; if (!r.write(chunk)) { r.once('drain', pump); return; } } r.end(); };
    pump();
  });
  const bigPort = await listen(big);
  const trickle = createServer((_q, r) => { r.writeHead(200); r.write('a'); });
  const trPort = await listen(trickle);
  const a = await startAgent();
  await sleep(1000);
  const rss0 = rssMB(a.proc.pid!);
  let peak = rss0;
  for (let i = 0; i < 5; i++) await req(a, 'PUT', '/v1/agent/check/register', { ID: `big${i}`, Name: `big${i}`, HTTP: `http://127.0.0.1:${bigPort}/`, Interval: '1s', Timeout: '5s' });
  await req(a, 'PUT', '/v1/agent/check/register', { ID: 'trickle', Name: 'trickle', HTTP: `http://127.0.0.1:${trPort}/`, Interval: '2s', Timeout: '1s' });
  for (let i = 0; i < 20; i++) { await sleep(500); peak = Math.max(peak, rssMB(a.proc.pid!)); } // 10 s
  const checks = (await req(a, 'GET', '/v1/agent/checks')).json ?? {};
  // What the target wrote includes what loopback socket buffers absorbed (a few MB) before the agent hung up.
  const perRun = sent / Math.max(1, requests) / 2 ** 20;
  row('5 HTTP checks (1 s) against a target answering 10 MB', 'MiB the target could write per run (incl. socket buffers); agent RSS before → peak over 10 s', `${requests} runs, ${perRun.toFixed(1)} MiB/run; RSS ${rss0.toFixed(0)} → ${peak.toFixed(0)} MB`, perRun < 5 ? 'fixed' : 'VULNERABLE');
  const out = String(checks.trickle?.Output ?? '');
  row('HTTP check against a body that never ends (1 s timeout)', 'check output', `\`${out.replace(/^.*?: /, '').slice(0, 90)}\``, /reading body/.test(out) ? 'fixed' : 'VULNERABLE (says "awaiting headers")');
  await a.stop();
}

/** Item 12: the embedded Redis and the data dir, as any other local user would see them. */
async function embeddedRedis(): Promise<void> {
  const a = await startAgent();
  await req(a, 'PUT', '/v1/agent/service/register', { Name: 'web', Port: 80 });
  await sleep(1500);
  const port = Number(/url=redis:\/\/(?:[^@\s]*@)?127\.0\.0\.1:(\d+)/.exec(a.log())?.[1]);
  const reply = await new Promise<string>(res => {
    const s = connect(port, '127.0.0.1', () => s.write('CONFIG GET dir\r\n'));
    s.setTimeout(2000, () => { s.destroy(); res('timeout'); });
    s.once('data', d => { s.destroy(); res(String(d)); });
    s.once('error', e => res(e.message));
  });
  const open = reply.startsWith('*');
  row('unauthenticated `CONFIG GET dir` on the embedded redis-server', 'reply', open ? 'answered (full access)' : reply.trim().slice(0, 40), open ? 'VULNERABLE' : 'fixed');
  const all: string[] = [];
  const walk = (d: string) => { all.push(d); for (const e of readdirSync(d, { withFileTypes: true })) { const p = join(d, e.name); if (e.isDirectory()) walk(p); else all.push(p); } };
  walk(a.dataDir);
  const loose = all.filter(p => (statSync(p).mode & 0o077) !== 0).length;
  row('data dir permissions', 'entries readable or writable by group/others', `${loose} of ${all.length}`, loose === 0 ? 'fixed' : 'VULNERABLE');
  await a.stop();
}

/** Item 13: the Redis password and the gossip key in logs and process arguments. */
async function secrets(): Promise<void> {
  const pw = randomBytes(16).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'roster-abuse-redis-'));
  const port = await freePort();
  writeFileSync(join(dir, 'r.conf'), `port ${port}\nbind 127.0.0.1\nsave ""\nappendonly no\ndir ${dir}\nrequirepass ${pw}\n`, { mode: 0o600 });
  const redis = spawn('redis-server', [join(dir, 'r.conf')], { stdio: 'ignore' });
  cleanup.push(() => { redis.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });
  await sleep(300);
  const key = randomBytes(32).toString('base64');
  const files = supports('redis-password-file');
  let args: string[], env: Record<string, string> = {};
  if (files) {
    writeFileSync(join(dir, 'pw'), pw, { mode: 0o600 });
    writeFileSync(join(dir, 'key'), key, { mode: 0o600 });
    args = ['-redis', `redis://127.0.0.1:${port}`, '-redis-password-file', join(dir, 'pw'), '-encrypt-file', join(dir, 'key')];
  } else {
    args = ['-redis', `redis://:${pw}@127.0.0.1:${port}`, '-encrypt', key];
  }
  const a = await startAgent([...args, '-log-level', 'debug'], env);
  await req(a, 'PUT', '/v1/agent/service/register', { Name: 'web', Port: 80 });
  const w = spawn(ROSTER, ['worker', '-redis', files ? `redis://127.0.0.1:${port}` : `redis://:${pw}@127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(files ? { ROSTER_REDIS_PASSWORD: pw } : {}) } });
  let wlog = '';
  w.stdout!.on('data', c => { wlog += String(c); });
  w.stderr!.on('data', c => { wlog += String(c); });
  cleanup.push(() => { w.kill('SIGKILL'); });
  await sleep(2000);
  const lines = (a.log() + wlog).split('\n');
  const leaked = lines.filter(l => l.includes(pw) || l.includes(key)).length;
  const argv = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  const inArgv = [a.proc.pid!, w.pid!].filter(p => argv(p).includes(pw) || argv(p).includes(key)).length;
  row('Redis password and gossip key: agent + worker logs (debug)', 'log lines showing a secret', `${leaked} of ${lines.length}`, leaked === 0 ? 'fixed' : 'VULNERABLE');
  row('Redis password and gossip key: `/proc/<pid>/cmdline` of agent and worker', 'processes whose argv shows a secret', `${inArgv} of 2${files ? ' (secrets from -redis-password-file, -encrypt-file, $ROSTER_REDIS_PASSWORD)' : ' (the only way: -redis URL, -encrypt)'}`, inArgv === 0 ? 'fixed' : 'VULNERABLE');
  // The embedded redis-server's argv (its password, if any, must be in a config file).
  const e = await startAgent();
  const pidFile = join(e.dataDir, 'redis', 'roster-redis.pid');
  const rpid = Number(readFileSync(pidFile, 'utf8'));
  const pwFile = join(e.dataDir, 'redis', 'password');
  let epw = '';
  try { epw = readFileSync(pwFile, 'utf8').trim(); } catch { /* no password at all */ }
  row('embedded redis-server `/proc/<pid>/cmdline`', 'shows its password', epw ? (argv(rpid).includes(epw) ? 'yes' : 'no (config file)') : 'no password exists', epw && !argv(rpid).includes(epw) ? 'fixed' : 'VULNERABLE');
  await e.stop();
  await a.stop();
}

const t0 = Date.now();
try {
  const only = process.env.ABUSE_ONLY?.split(',');
  for (const attack of [deletedNode, slowTargets, bigBodies, embeddedRedis, secrets].filter(f => !only || only.includes(f.name))) {
    try { await attack(); } catch (err) { row(attack.name, 'error', (err as Error).message.split('\n')[0]!.slice(0, 120), 'ERROR'); }
  }
} finally {
  for (const fn of cleanup.reverse()) await fn();
}
console.log(`\nAgent / checks / secrets abuse (${ROSTER}; ${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
console.log('| attack | measured | result | verdict |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
process.exit(0);
