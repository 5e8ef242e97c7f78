/**
 * Test helper: a real Redis Cluster of 3 primaries (and optionally replicas of each) on loopback
 * (`cluster-enabled yes`, slots assigned by `redis-cli --cluster create`), each process stopped by its PID in teardown. Each node's
 * configuration is README's redis-cluster-node recipe, read out of it by ./recipes.ts. With `tls: true`
 * each node also gets README's redis-tls recipe and `tls-cluster yes` (TLS only: plaintext port 0, client
 * certificates required, TLS cluster bus), and the URL is `rediss-cluster://`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../../src/store/embedded-redis.ts';
import { until } from './wait.ts';
import { redisRecipe } from './recipes.ts';
import { makePki, type TestPki } from './tls.ts';

const run = promisify(execFile);

export interface TestCluster {
  url: string; password: string; ports: number[]; procs: ChildProcess[]; byPort: Map<number, ChildProcess>;
  /** With `tls: true`: the CA and Roster's client certificate. */
  pki?: TestPki;
  /** Starts a (killed) node again from its own directory: it rejoins the cluster from its nodes.conf (as a replica once another took over). */
  restart(port: number): void;
}

export async function startCluster(t: { teardown(fn: () => unknown): void }, primaries = 3, replicasEach = 0, opts: { tls?: boolean } = {}): Promise<TestCluster> {
  const root = mkdtempSync(join(tmpdir(), 'roster-cluster-'));
  const pki = opts.tls ? makePki(root) : undefined;
  const tls = pki?.tls;
  const password = 'cluster-test-' + Math.random().toString(36).slice(2);
  const ports: number[] = [];
  const procs: ChildProcess[] = [];
  const byPort = new Map<number, ChildProcess>();
  t.teardown(() => { for (const p of procs) p.kill('SIGKILL'); });
  // A node whose port (or cluster bus port, port + 10000) was taken meanwhile by another test exits at once:
  // start it again on other ports.
  const startNode = async (): Promise<number> => {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const dir = join(root, String(port));
      mkdirSync(dir);
      writeFileSync(join(dir, 'redis.conf'), redisRecipe('redis-cluster-node', {
        port, dir, password, replace: [['cluster-node-timeout 5000', 'cluster-node-timeout 2000']], extra: ['save ""'],
      }) + (pki ? redisRecipe('redis-tls', { port, dir, password, tlsDir: pki.dir, extra: ['tls-cluster yes'] }) : ''), { mode: 0o600 });
      const proc = spawn('redis-server', [join(dir, 'redis.conf')], { stdio: 'ignore' });
      procs.push(proc);
      let exited = false;
      proc.once('exit', () => { exited = true; });
      try {
        await until(`cluster node ${port} up`, async () => {
          if (exited) throw Object.assign(new Error('exited'), { fatal: true });
          const c = new Redis({ port, password, tls, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
          c.on('error', () => {});
          try { await c.connect(); return (await c.ping()) === 'PONG'; } finally { c.disconnect(); }
        }, 10_000);
        byPort.set(port, proc);
        return port;
      } catch (err) {
        if (!exited || attempt >= 3) throw err;
      }
    }
  };
  for (let i = 0; i < primaries * (1 + replicasEach); i++) ports.push(await startNode());
  await run('redis-cli', [...pki?.cliFlags ?? [], '--cluster', 'create', ...ports.map(p => `127.0.0.1:${p}`), '--cluster-replicas', String(replicasEach), '--cluster-yes'], { env: { ...process.env, REDISCLI_AUTH: password }, timeout: 30_000 });
  await until('cluster state ok on every node', async () => {
    for (const port of ports) {
      const c = new Redis({ port, password, tls, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      c.on('error', () => {});
      try {
        await c.connect();
        if (!/cluster_state:ok/.test(await c.call('CLUSTER', 'INFO') as string)) return false;
        // Replicas: every primary reports its replicas attached and in sync.
        if (replicasEach > 0 && /role:master/.test(await c.info('replication'))) {
          const info = await c.info('replication');
          if (Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0) < replicasEach || /state=(?!online)/.test(info)) return false;
        }
      } finally { c.disconnect(); }
    }
    return true;
  }, 20_000);
  const restart = (port: number): void => {
    const proc = spawn('redis-server', [join(root, String(port), 'redis.conf')], { stdio: 'ignore' });
    procs.push(proc);
    byPort.set(port, proc);
  };
  return { url: `${pki ? 'rediss' : 'redis'}-cluster://${ports.map(p => `127.0.0.1:${p}`).join(',')}`, password, pki, ports, procs, byPort, restart };
}
