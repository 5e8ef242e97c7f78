/**
 * Test helper: a real Redis Sentinel topology on loopback (1 primary + N replicas + 3
 * `redis-sentinel`, Debian package redis-sentinel), each process with its own directory and
 * config file, every one stopped by its PID in teardown. The configuration files are README's
 * recipes ("Running past one machine"), read out of it by ./recipes.ts. With `tls: true` every
 * process also gets README's redis-tls recipe (TLS only: plaintext port 0, client certificates
 * required, TLS replication and sentinel links), and the URL is `rediss-sentinel://`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/store/embedded-redis.ts';
import { until } from './wait.ts';
import { redisRecipe } from './recipes.ts';
import { makePki, type TestPki } from './tls.ts';

export interface Proc { port: number; dir: string; proc: ChildProcess; alive(): boolean; kill(sig?: NodeJS.Signals): Promise<void> }

type Tls = TestPki['tls'] | undefined;

/** Starts `bin` with `conf` written to `dir`; resolves once the port answers PING. */
async function startProc(bin: string, dir: string, port: number, conf: string, password?: string, tls?: Tls): Promise<Proc> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'redis.conf');
  writeFileSync(file, conf, { mode: 0o600 });
  const proc = spawn(bin, [file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', d => { err += String(d); });
  const exited = new Promise<void>(r => proc.once('exit', () => r()));
  const p: Proc = {
    port, dir, proc,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    async kill(sig = 'SIGKILL') { if (p.alive()) { proc.kill(sig); await exited; } },
  };
  await until(`${bin} on ${port} answers (${err})`, async () => {
    if (!p.alive()) throw new Error(`${bin} exited: ${err}`);
    const c = new Redis({ port, password, tls, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
    c.on('error', () => {});
    try { await c.connect(); return (await c.ping()) === 'PONG'; } catch { return false; } finally { c.disconnect(); }
  }, 10_000);
  return p;
}

export interface SentinelTopology {
  /** `redis-sentinel://127.0.0.1:p1,…/roster` (no password: pass it by -redis-password-file). */
  url: string;
  password: string;
  master: string;
  /** With `tls: true`: the CA and Roster's client certificate. */
  pki?: TestPki;
  nodes: Proc[];
  sentinels: Proc[];
  /** The primary's port, as the sentinels name it. */
  primaryPort(): Promise<number>;
  /** A command connection to a data node. */
  client(port: number): Redis;
  /** Restarts a killed data node (same port and dir) as a replica of the current primary. */
  restartAsReplica(node: Proc): Promise<Proc>;
  /** Resolves once the primary has `replicas` online replicas and every sentinel sees them and the other sentinels. */
  settled(replicas: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** README's redis-tls recipe for a process on `port` (TLS only), or nothing without a PKI. */
const tlsConf = (port: number, dir: string, pki?: TestPki) => pki ? redisRecipe('redis-tls', { port, dir, password: '', tlsDir: pki.dir }) : '';

/** README's redis-node recipe, plus what makes the test fast (immediate diskless sync, no RDB snapshots). */
const nodeConf = (port: number, dir: string, pw: string, replicaOf?: number, pki?: TestPki) => redisRecipe('redis-node', {
  port, dir, password: pw,
  extra: ['save ""', 'repl-diskless-sync yes', 'repl-diskless-sync-delay 0', `logfile ${dir}/redis.log`, ...(replicaOf ? [`replicaof 127.0.0.1 ${replicaOf}`] : [])],
}) + tlsConf(port, dir, pki);

export async function startSentinels(t: { teardown(fn: () => unknown): void }, opts: { replicas?: number; tls?: boolean } = {}): Promise<SentinelTopology> {
  const root = mkdtempSync(join(tmpdir(), 'roster-sentinel-'));
  const pki = opts.tls ? makePki(root) : undefined;
  const tls = pki?.tls;
  const password = 'sentinel-test-' + Math.random().toString(36).slice(2);
  const master = 'roster';
  const nodes: Proc[] = [];
  const sentinels: Proc[] = [];
  const clients = new Set<Redis>();
  const stop = async () => {
    for (const c of clients) c.disconnect();
    for (const p of [...sentinels, ...nodes]) await p.kill('SIGKILL');
  };
  t.teardown(stop);
  const primaryPort = await freePort();
  nodes.push(await startProc('redis-server', join(root, `n${primaryPort}`), primaryPort, nodeConf(primaryPort, join(root, `n${primaryPort}`), password, undefined, pki), password, tls));
  for (let i = 0; i < (opts.replicas ?? 2); i++) {
    const port = await freePort();
    const dir = join(root, `n${port}`);
    nodes.push(await startProc('redis-server', dir, port, nodeConf(port, dir, password, primaryPort, pki), password, tls));
  }
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const dir = join(root, `s${port}`);
    sentinels.push(await startProc('redis-sentinel', dir, port, redisRecipe('redis-sentinel', {
      port, dir, password, primaryPort,
      extra: [`logfile ${dir}/sentinel.log`],
      replace: [['down-after-milliseconds roster 5000', 'down-after-milliseconds roster 2000'], ['failover-timeout roster 60000', 'failover-timeout roster 5000']],
    }) + tlsConf(port, dir, pki), undefined, tls));
  }
  const client = (port: number) => {
    const c = new Redis({ port, password, tls, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 2000, lazyConnect: true });
    c.on('error', () => {});
    clients.add(c);
    return c;
  };
  const ask = async <T>(port: number, fn: (c: Redis) => Promise<T>, pw?: string): Promise<T> => {
    const c = new Redis({ port, password: pw, tls, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 2000, lazyConnect: true });
    c.on('error', () => {});
    try { await c.connect(); return await fn(c); } finally { c.disconnect(); }
  };
  const topo: SentinelTopology = {
    url: `${pki ? 'rediss' : 'redis'}-sentinel://${sentinels.map(s => `127.0.0.1:${s.port}`).join(',')}/${master}`,
    password, master, pki, nodes, sentinels, client, stop,
    async primaryPort() {
      for (const s of sentinels) {
        if (!s.alive()) continue;
        const addr = await ask(s.port, c => c.call('SENTINEL', 'get-master-addr-by-name', master) as Promise<string[]>).catch(() => null);
        if (addr) return Number(addr[1]);
      }
      throw new Error('no sentinel answered');
    },
    async restartAsReplica(node) {
      const primary = await topo.primaryPort();
      const fresh = await startProc('redis-server', node.dir, node.port, nodeConf(node.port, node.dir, password, primary, pki), password, tls);
      nodes[nodes.indexOf(node)] = fresh;
      return fresh;
    },
    async settled(replicas, timeoutMs = 30_000) {
      await until(`primary has ${replicas} online replicas, seen by every sentinel`, async () => {
        const primary = await topo.primaryPort().catch(() => 0);
        if (!primary) return false;
        const info = await ask(primary, c => c.info('replication'), password).catch(() => '');
        if (!info.includes('role:master')) return false;
        if ((info.match(/state=online/g) ?? []).length < replicas) return false;
        for (const s of sentinels) {
          const m = await ask(s.port, c => c.call('SENTINEL', 'master', master) as Promise<string[]>).catch(() => null);
          if (!m) return false;
          const f = new Map<string, string>();
          for (let i = 0; i + 1 < m.length; i += 2) f.set(m[i]!, m[i + 1]!);
          if (f.get('port') !== String(primary) || Number(f.get('num-other-sentinels')) < 2 || (f.get('flags') ?? '').includes('down')) return false;
          const reps = await ask(s.port, c => c.call('SENTINEL', 'replicas', master) as Promise<string[][]>).catch(() => []);
          const ok = reps.filter(r => { const flags = r[r.indexOf('flags') + 1] ?? ''; return !/down|disconnected/.test(flags) && r[r.indexOf('master-port') + 1] === String(primary); });
          if (ok.length < replicas) return false;
        }
        return true;
      }, timeoutMs);
    },
  };
  await topo.settled(opts.replicas ?? 2);
  return topo;
}
