/**
 * @module The embedded redis-server that `roster agent -dev` spawns when no -redis URL is given.
 *
 * It binds 127.0.0.1 on a free port, keeps its data and AOF under `<dataDir>/redis`, and is
 * stopped with the agent. On Linux it is started through util-linux's `setpriv --pdeathsig TERM`, so
 * that it also stops (flushing its AOF) when the agent is killed outright; a redis-server left behind
 * on the same data dir anyway is stopped first, so the new one starts from the same data.
 *
 * It requires a password: a random one generated on first start and kept in
 * `<dataDir>/redis/password` (0600). The settings, password included, reach redis-server through a
 * config file (0600), never its argv, and the server runs with umask 077 so its AOF and RDB files
 * are 0600; the data dir and its folders are 0700.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger, registerSecret } from '../log.ts';

const log = logger('agent.redis');

export interface EmbeddedRedis {
  /** `redis://:<password>@127.0.0.1:<port>`: never log it as is (src/log.ts redacts it). */
  url: string;
  password: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** The executable `cmd` resolves to on PATH (or `cmd` itself when it is a path), else null. */
function onPath(cmd: string): string | null {
  const dirs = cmd.includes('/') ? [''] : (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const d of dirs) {
    const f = d ? join(d, cmd) : cmd;
    try { accessSync(f, constants.X_OK); return f; } catch { /* next */ }
  }
  return null;
}

/** The last 4 KB of a file ('' when unreadable). */
function logTail(file: string): string {
  try { const t = readFileSync(file, 'utf8'); return t.slice(-4096); } catch { return ''; }
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

/**
 * Locks a data dir down: the dir 0700, Roster's own files in it 0600 (node-id, local state), and the
 * embedded Redis folder (data, AOF, config, password) 0700 / 0600 throughout. Creates it when missing.
 * Only Roster's own entries are touched, in case the dir is shared.
 */
export function lockDown(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  for (const f of ['node-id', 'local-state.json']) { try { chmodSync(join(dataDir, f), 0o600); } catch { /* not there yet */ } }
  const walk = (d: string) => {
    chmodSync(d, 0o700);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) chmodSync(p, 0o600);
    }
  };
  try { walk(join(dataDir, 'redis')); } catch { /* no embedded Redis yet */ }
}

/** The embedded server's password: read from `<dir>/password`, or generated (32 random bytes, hex) and stored 0600 when missing or unusable. */
export function embeddedPassword(dir: string): string {
  const file = join(dir, 'password');
  try {
    const pw = readFileSync(file, 'utf8').trim();
    // Any password an operator put there is kept, if it is safe on a redis.conf line and in a URL as it stands.
    if (/^[A-Za-z0-9._~-]{16,}$/.test(pw)) return pw;
  } catch { /* first start */ }
  const pw = randomBytes(32).toString('hex');
  writeFileSync(file, pw + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return pw;
}

/**
 * Starts redis-server for a data dir and waits until it answers PING. A port picked here (no `opts.port`) can be
 * taken by another process between freePort() and redis-server's bind: then it starts again on another one.
 */
/** `pickPort` (tests): how a port is picked when `port` is not given; default freePort. */
export async function startEmbeddedRedis(dataDir: string, opts: { port?: number; binary?: string; pickPort?: () => Promise<number> } = {}): Promise<EmbeddedRedis> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(dataDir, opts);
    } catch (err) {
      if (opts.port !== undefined || attempt >= 4 || !(err as { portTaken?: boolean }).portTaken) throw err;
      log.debug('the port picked for the embedded redis-server was taken meanwhile; picking another', { attempt });
    }
  }
}

async function startOnce(dataDir: string, opts: { port?: number; binary?: string; pickPort?: () => Promise<number> }): Promise<EmbeddedRedis> {
  const dir = join(dataDir, 'redis');
  lockDown(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const password = embeddedPassword(dir);
  registerSecret(password);
  const pidFile = join(dir, 'roster-redis.pid');
  try {
    const stale = Number(readFileSync(pidFile, 'utf8'));
    if (stale > 0 && alive(stale)) {
      log.warn('stopping a redis-server left behind on this data dir', { pid: stale });
      process.kill(stale, 'SIGTERM');
      for (let i = 0; i < 100 && alive(stale); i++) await sleep(50);
    }
  } catch { /* no stale server */ }
  const port = opts.port ?? (await (opts.pickPort ?? freePort)());
  // Redis config syntax: quoted strings; the password is hex, the paths are ours.
  const q = (v: string) => JSON.stringify(v);
  const conf = [
    `port ${port}`, 'bind 127.0.0.1', `dir ${q(dir)}`, 'daemonize no', 'protected-mode yes',
    'appendonly yes', 'appendfsync everysec', 'save ""', `logfile ${q(join(dir, 'redis.log'))}`,
    'dbfilename dump.rdb', 'appenddirname aof', `requirepass ${password}`,
  ].join('\n') + '\n';
  const confFile = join(dir, 'redis.conf');
  writeFileSync(confFile, conf, { mode: 0o600 });
  chmodSync(confFile, 0o600);
  let child: ChildProcess;
  // The child inherits the umask at fork: its AOF, RDB and log files are created 0600.
  const oldUmask = process.umask(0o077);
  try {
    const bin = opts.binary ?? 'redis-server';
    const setpriv = process.platform === 'linux' ? onPath('setpriv') : null; // exec's redis-server: same pid
    child = setpriv && onPath(bin) ? spawn(setpriv, ['--pdeathsig', 'TERM', '--', bin, confFile], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(bin, [confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`cannot start redis-server: ${(err as Error).message}. Install it with: apt-get install -y redis-server`);
  } finally {
    process.umask(oldUmask);
  }
  let exited = false;
  let stderr = '';
  child.stderr?.on('data', d => { stderr += String(d); });
  const spawnErr = new Promise<never>((_, reject) => {
    child.once('error', err => reject(new Error(`cannot start redis-server: ${err.message}. Install it with: apt-get install -y redis-server`)));
    child.once('exit', code => {
      exited = true;
      const err = new Error(`redis-server exited with code ${code}: ${stderr.trim()} (see ${join(dir, 'redis.log')})`);
      (err as Error & { portTaken?: boolean }).portTaken = logTail(join(dir, 'redis.log')).includes(`${port} (TCP), aborting`);
      reject(err);
    });
  });
  spawnErr.catch(() => {});
  writeFileSync(pidFile, String(child.pid), { mode: 0o600 });
  const url = `redis://:${password}@127.0.0.1:${port}`;
  const deadline = Date.now() + 15000;
  for (;;) {
    if (exited) await spawnErr;
    if (await ping(port, password)) break;
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error('redis-server did not answer PING within 15 s'); }
    await Promise.race([sleep(10), spawnErr]);
  }
  log.info('embedded redis-server started', { url, pid: child.pid, dir });
  return {
    url, password, port, pid: child.pid!,
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

async function ping(port: number, password: string): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise(resolve => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    s.setTimeout(500, () => { s.destroy(); resolve(false); });
    s.on('connect', () => s.write(`AUTH ${password}\r\nPING\r\n`));
    // Two replies: +OK to AUTH, then +PONG (a server still loading its AOF answers -LOADING).
    s.on('data', d => { buf += String(d); if (buf.split('\r\n').length > 2) { s.destroy(); resolve(buf.startsWith('+OK\r\n+PONG')); } });
    s.on('error', () => resolve(false));
  });
}
