/**
 * What durable acknowledgements cost (issue 12 §1): one primary with one replica on loopback, two
 * agents on it, one with `redis_min_replicas_acked` auto (= 1: every write waits for the replica's
 * WAIT) and one with 0. Each runs `/v1/catalog/register` for SECONDS with 1 and with 20 concurrent
 * clients; reports acknowledged writes/s and p50/p99 latency. Bounded in time; everything stopped by PID.
 *   node bench/store/wait-cost.ts [seconds=5]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { testRedis } from '../../integration/helpers/redis.ts';
import { startAgent, type TestAgent } from '../../integration/helpers/agent.ts';
import { until } from '../../integration/helpers/wait.ts';
import { freePort } from '../../src/store/embedded-redis.ts';

const SECONDS = Number(process.argv[2] ?? 5);
const primary = await testRedis();
const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'roster-replica-'));
writeFileSync(join(dir, 'r.conf'), `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsave ""\nrequirepass ${primary.password}\nmasterauth ${primary.password}\nreplicaof 127.0.0.1 ${primary.port}\n`, { mode: 0o600 });
const replica = spawn('redis-server', [join(dir, 'r.conf')], { stdio: 'ignore' });
const agents: TestAgent[] = [];
try {
  const admin = new Redis(primary.url);
  await until('replica online', async () => /state=online/.test(await admin.info('replication')), 10_000);
  admin.disconnect();
  agents.push(await startAgent(null, { redis: primary.url, args: ['-checks-workers', '0'] }));
  agents.push(await startAgent(null, { redis: primary.url, args: ['-checks-workers', '0', '-hcl', 'redis_min_replicas_acked = 0'] }));
  const rows: string[] = [];
  for (const conc of [1, 20]) {
    for (const [i, a] of agents.entries()) {
      const lat: number[] = [];
      const end = Date.now() + SECONDS * 1000;
      let n = 0, errors = 0;
      await Promise.all(Array.from({ length: conc }, async (_, w) => {
        while (Date.now() < end) {
          const t0 = performance.now();
          const res = await a.req('PUT', '/v1/catalog/register', { Node: `b${i}-${w}`, Address: '10.0.0.1', Service: { ID: `s${n++}`, Service: 'bench', Port: 1 } });
          if (res.status === 200) lat.push(performance.now() - t0); else errors++;
        }
      }));
      lat.sort((x, y) => x - y);
      rows.push(`| ${i === 0 ? 'auto (= 1)' : '0'} | ${conc} | ${(lat.length / SECONDS).toFixed(0)} | ${lat[Math.floor(lat.length / 2)]!.toFixed(2)} | ${lat[Math.floor(lat.length * 0.99)]!.toFixed(2)} | ${errors} |`);
    }
  }
  process.stdout.write(['| redis_min_replicas_acked | clients | writes/s | p50 ms | p99 ms | errors |', '|---|---|---|---|---|---|', ...rows].join('\n') + '\n');
} finally {
  for (const a of agents) await a.stop('SIGKILL');
  replica.kill('SIGKILL');
  await primary.stop();
}
process.exit(0);
