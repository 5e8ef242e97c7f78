/**
 * What TLS costs with Sentinel (issue 12 §1): two topologies of README's Sentinel recipe side by side
 * (1 primary + 1 replica + 3 sentinels each), one plaintext and one TLS-only (README's redis-tls recipe:
 * client certificates, TLS replication), an agent on each (`redis-sentinel://` / `rediss-sentinel://`,
 * redis_min_replicas_acked auto = 1). Each agent runs `PUT /v1/catalog/register` and then `GET /v1/kv/<key>`
 * (read from Redis) for SECONDS with 1 and with 20 concurrent clients, taking turns so machine noise hits
 * both; reports requests/s and p50/p99 latency. Bounded in time; everything stopped by PID.
 *   node bench/store/tls-cost.ts [seconds=5]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSentinels } from '../../integration/helpers/sentinel.ts';
import { startAgent, type TestAgent } from '../../integration/helpers/agent.ts';

const SECONDS = Number(process.argv[2] ?? 5);
const cleanups: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => { cleanups.push(fn); } };
try {
  const agents: { name: string; a: TestAgent }[] = [];
  for (const tls of [false, true]) {
    const topo = await startSentinels(t, { replicas: 1, tls });
    const pwFile = join(topo.nodes[0]!.dir, '..', 'redis-password');
    writeFileSync(pwFile, topo.password + '\n', { mode: 0o600 });
    const a = await startAgent(null, { redis: topo.url, args: ['-redis-password-file', pwFile, '-checks-workers', '0', ...topo.pki ? ['-hcl', topo.pki.hcl] : []] });
    cleanups.push(() => a.stop('SIGKILL'));
    if ((await a.req('PUT', '/v1/kv/bench', 'x'.repeat(100))).status !== 200) throw new Error('KV put failed');
    agents.push({ name: tls ? '`rediss-sentinel://`' : '`redis-sentinel://`', a });
  }
  const rows: string[] = [];
  for (const op of ['register', 'kv get'] as const) {
    for (const conc of [1, 20]) {
      for (const { name, a } of agents) {
        const lat: number[] = [];
        const end = Date.now() + SECONDS * 1000;
        let n = 0, errors = 0;
        await Promise.all(Array.from({ length: conc }, async (_, w) => {
          while (Date.now() < end) {
            const t0 = performance.now();
            const res = op === 'register'
              ? await a.req('PUT', '/v1/catalog/register', { Node: `b-${w}`, Address: '10.0.0.1', Service: { ID: `s${n++}`, Service: 'bench', Port: 1 } })
              : await a.req('GET', '/v1/kv/bench');
            if (res.status === 200) lat.push(performance.now() - t0); else errors++;
          }
        }));
        lat.sort((x, y) => x - y);
        rows.push(`| ${name} | ${op} | ${conc} | ${(lat.length / SECONDS).toFixed(0)} | ${lat[Math.floor(lat.length / 2)]!.toFixed(2)} | ${lat[Math.floor(lat.length * 0.99)]!.toFixed(2)} | ${errors} |`);
      }
    }
  }
  process.stdout.write(['| URL | operation | clients | requests/s | p50 ms | p99 ms | errors |', '|---|---|---|---|---|---|---|', ...rows].join('\n') + '\n');
} finally {
  for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {});
}
process.exit(0);
