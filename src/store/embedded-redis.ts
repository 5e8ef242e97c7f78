/**
 * @module The embedded redis-server that `roster agent -dev` spawns when no -redis URL is given.
 *
 * It binds 127.0.0.1 on a free port, keeps its data and AOF under `<dataDir>/redis`, and is
 * stopped with the agent. A redis-server left behind by a crashed agent on the same data dir is
 * stopped first (its AOF is flushed on SIGTERM), so the new one starts from the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../log.ts';

const log = logger('agent.redis');

export interface EmbeddedRedis {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Returns a free TCP port on 127.0.0.1. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Starts redis-server for a data dir and waits until it answers PING. */
export async function startEmbeddedRedis(dataDir: string, opts: { port?: number; binary?: string } = {}): Promise<EmbeddedRedis> {
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const pidFile = join(dir, 'roster-redis.pid');
  try {
    const stale = Number(readFileSync(pidFile, 'utf8'));
    if (stale > 0 && alive(stale)) {
      log.warn('stopping a redis-server left behind on this data dir', { pid: stale });
      process.kill(stale, 'SIGTERM');
      for (let i = 0; i < 100 && alive(stale); i++) await sleep(50);
    }
  } catch { /* no stale server */ }
  const port = opts.port ?? (await freePort());
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes',
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--logfile', join(dir, 'redis.log'),
    '--dbfilename', 'dump.rdb', '--appenddirname', 'aof',
  ];
  let child: ChildProcess;
  try {
    child = spawn(opts.binary ?? 'redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`cannot start redis-server: ${(err as Error).message}. Install it with: apt-get install -y redis-server`);
  }
  let exited = false;
  let stderr = '';
  child.stderr?.on('data', d => { stderr += String(d); });
  const spawnErr = new Promise<never>((_, reject) => {
    child.once('error', err => reject(new Error(`cannot start redis-server: ${err.message}. Install it with: apt-get install -y redis-server`)));
    child.once('exit', code => { exited = true; reject(new Error(`redis-server exited with code ${code}: ${stderr.trim()} (see ${join(dir, 'redis.log')})`)); });
  });
  spawnErr.catch(() => {});
  writeFileSync(pidFile, String(child.pid));
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 15000;
  for (;;) {
    if (exited) await spawnErr;
    if (await ping(port)) break;
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error('redis-server did not answer PING within 15 s'); }
    await Promise.race([sleep(25), spawnErr]);
  }
  log.info('embedded redis-server started', { url, pid: child.pid, dir });
  return {
    url, port, pid: child.pid!,
    async stop() {
      if (exited) return;
      const done = new Promise<void>(r => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
      rmSync(pidFile, { force: true });
    },
  };
}

async function ping(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise(resolve => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    s.setTimeout(500, () => { s.destroy(); resolve(false); });
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', d => { buf += String(d); if (buf.includes('\r\n')) { s.destroy(); resolve(buf.startsWith('+PONG')); } });
    s.on('error', () => resolve(false));
  });
}
