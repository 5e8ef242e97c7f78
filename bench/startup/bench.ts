/**
 * Start-up time of `roster agent`: from spawn to the HTTP API answering /v1/status/leader (and to
 * the first log line), with -redis pointing at an already-running redis-server, and with the
 * embedded redis-server spawned by the agent. Runs the built agent (dist/) as `bin/roster` does.
 *
 *   node bench/startup/bench.ts [runs=15] [<another build's main.js> to compare, run alternately]
 *   (ROSTER_MAIN=<path to main.js> to time another build alone)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../src/store/embedded-redis.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = process.env.ROSTER_MAIN ?? join(ROOT, 'dist/src/cli/main.js');
const runs = Number(process.argv[2] ?? 15);

const leader = (port: number) => new Promise<boolean>(res => {
  const req = request({ host: '127.0.0.1', port, path: '/v1/status/leader', timeout: 200 }, r => { r.resume(); res(r.statusCode === 200); });
  req.on('error', () => res(false));
  req.on('timeout', () => { req.destroy(); res(false); });
  req.end();
});

async function once(main: string, dir: string, redisUrl?: string): Promise<{ ready: number; firstLog: number }> {
  const [http, dns, serf] = [await freePort(), await freePort(), await freePort()];
  const args = [main, 'agent', '-dev', '-node', 'bench', '-http-port', String(http), '-dns-port', String(dns), '-serf-lan-port', String(serf), '-data-dir', dir, ...(redisUrl ? ['-redis', redisUrl] : [])];
  const t0 = performance.now();
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let firstLog = 0;
  const onData = () => { if (!firstLog) firstLog = performance.now() - t0; };
  proc.stdout!.on('data', onData); proc.stderr!.on('data', onData);
  try {
    for (;;) {
      if (performance.now() - t0 > 30_000) throw new Error('agent not ready within 30 s');
      if (proc.exitCode !== null) throw new Error(`agent exited (${proc.exitCode})`);
      if (await leader(http)) return { ready: performance.now() - t0, firstLog };
      await new Promise(r => setTimeout(r, 2));
    }
  } finally {
    await stop(proc);
  }
}

function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return Promise.resolve();
  return new Promise(r => { p.once('exit', () => r()); p.kill('SIGTERM'); setTimeout(() => p.kill('SIGKILL'), 5000).unref(); });
}

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

const work = mkdtempSync(join(tmpdir(), 'roster-startup-'));
const rport = await freePort();
const redis = spawn('redis-server', ['--port', String(rport), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
await new Promise(r => setTimeout(r, 300));
try {
  const builds: [string, string][] = [['this build', MAIN], ...(process.argv[3] ? [['compared build', resolve(process.argv[3])] as [string, string]] : [])];
  console.log(`| build | mode | runs | first log line, median | ready, median | ready, p90 | ready, min |`);
  console.log(`|---|---|---|---|---|---|---|`);
  for (const [mode, url] of [['-redis (running redis-server)', `redis://127.0.0.1:${rport}`], ['embedded redis-server spawned', undefined]] as const) {
    const ready = builds.map(() => [] as number[]), first = builds.map(() => [] as number[]);
    for (const [, main] of builds) await once(main, join(work, 'warm'), url); // warm the page and compile caches
    for (let i = 0; i < runs; i++) {
      for (const [b, [, main]] of builds.entries()) {
        const r = await once(main, join(work, `${mode.length}-${b}-${i}`), url);
        ready[b]!.push(r.ready); first[b]!.push(r.firstLog);
      }
    }
    for (const [b, [name]] of builds.entries()) {
      console.log(`| ${name} | ${mode} | ${runs} | ${q(first[b]!, 0.5).toFixed(0)} ms | ${q(ready[b]!, 0.5).toFixed(0)} ms | ${q(ready[b]!, 0.9).toFixed(0)} ms | ${Math.min(...ready[b]!).toFixed(0)} ms |`);
    }
  }
} finally {
  redis.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
