/**
 * Durable acknowledgements (issue 12 §1): with a replica attached, a write is answered only once the
 * replica holds it (`WAIT`, `redis_min_replicas_acked`, auto = 1 when the primary reports replicas);
 * when the replica cannot confirm in time the client gets a 500 that says what happened to the
 * write, within the deadline, and writes are acknowledged again once the replica is back.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { testRedis } from './helpers/redis.ts';
import { startAgent } from './helpers/agent.ts';
import { until } from './helpers/wait.ts';
import { freePort } from '../src/store/embedded-redis.ts';

test('durable: writes wait for the replica; a replica that cannot confirm gives 500 within the deadline; all recovers', async t => {
  const primary = await testRedis();
  t.teardown(() => primary.stop());
  // A replica of the embedded primary (same password).
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'roster-replica-'));
  writeFileSync(join(dir, 'r.conf'), `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsave ""\nrequirepass ${primary.password}\nmasterauth ${primary.password}\nreplicaof 127.0.0.1 ${primary.port}\n`, { mode: 0o600 });
  const replica = spawn('redis-server', [join(dir, 'r.conf')], { stdio: 'ignore' });
  t.teardown(() => { try { replica.kill('SIGCONT'); } catch {} replica.kill('SIGKILL'); });
  const admin = new Redis(primary.url);
  t.teardown(() => admin.disconnect());
  await until('replica online', async () => /state=online/.test(await admin.info('replication')), 10_000);

  const agent = await startAgent(t, { redis: primary.url, args: ['-hcl', 'redis_timeout = "2s"'] });
  await until('the agent logs its durability rule', async () => /durable acknowledgements.*redis_min_replicas_acked=1.*mode=auto/.test(agent.log()), 5000);
  const reg = (id: string) => agent.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: id, Port: 80 });
  t.is((await reg('w1')).status, 200);
  t.is((await agent.req('PUT', '/v1/kv/k1', 'v')).status, 200);

  // The replica freezes: it stays connected (the primary still counts it) but confirms nothing.
  replica.kill('SIGSTOP');
  for (const [what, call] of [['register', () => reg('w2')], ['kv put', () => agent.req('PUT', '/v1/kv/k2', 'v')], ['catalog register', () => agent.req('PUT', '/v1/catalog/register', { Node: 'ext', Address: '10.0.0.1' })]] as const) {
    const t0 = Date.now();
    const res = await call();
    const took = Date.now() - t0;
    t.is(res.status, 500, `${what}: ${res.text}`);
    t.is(res.text, 'write not confirmed by Redis replicas: 0 of 1 acknowledged within 1000 ms (redis_min_replicas_acked); the write was applied on the primary and may or may not survive a failover', what);
    t.true(took < 2500, `${what} answered in ${took} ms`);
  }
  t.is((await agent.req('GET', '/v1/catalog/service/web?stale')).status, 200, 'reads keep working');
  replica.kill('SIGCONT');
  await until('writes are acknowledged again', async () => (await reg('w3')).status === 200, 15_000);
  t.is((await agent.req('PUT', '/v1/kv/k3', 'v')).status, 200);
});

test('durable: without replicas (auto) writes are not held; redis_min_replicas_acked = 1 without a replica refuses them', async t => {
  const r = await testRedis();
  t.teardown(() => r.stop());
  const auto = await startAgent(t, { redis: r.url });
  await until('log', async () => /redis_min_replicas_acked=0 mode=auto/.test(auto.log()), 5000);
  t.is((await auto.req('PUT', '/v1/kv/a', 'v')).status, 200);
  const strict = await startAgent(t, { redis: r.url, args: ['-hcl', 'redis_min_replicas_acked = 1'] });
  const res = await strict.req('PUT', '/v1/kv/b', 'v');
  t.is(res.status, 500);
  t.regex(res.text, /^write not confirmed by Redis replicas: 0 of 1 acknowledged/);
});
