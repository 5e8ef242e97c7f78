/**
 * A frozen Redis (SIGSTOP: what a network partition looks like to a client — the socket stays open
 * and nothing answers) must not hang writes: every command has a deadline (`redis_timeout`), so a
 * write answers 500 with a clear message within it, DNS keeps answering from the view, and all
 * recovers on SIGCONT (issue 12 §2).
 */
import test from 'ava';
import { testRedis } from './helpers/redis.ts';
import { startAgent } from './helpers/agent.ts';
import { dig } from './helpers/dig.ts';
import { until } from './helpers/wait.ts';

test('frozen redis: writes answer 500 within redis_timeout, DNS keeps answering, SIGCONT recovers', async t => {
  const r = await testRedis();
  t.teardown(async () => { try { process.kill(r.pid, 'SIGCONT'); } catch {} await r.stop(); });
  const agent = await startAgent(t, { redis: r.url, args: ['-hcl', 'redis_timeout = "1s"'] });
  const reg = (id: string) => agent.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: id, Port: 80, Address: '127.0.0.9' });
  t.is((await reg('w1')).status, 200);
  process.kill(r.pid, 'SIGSTOP');
  for (const [what, call] of [['register', () => reg('w2')], ['kv put', () => agent.req('PUT', '/v1/kv/frozen', 'v')], ['consistent read', () => agent.req('GET', '/v1/catalog/service/web?consistent')]] as const) {
    const t0 = Date.now();
    const res = await call();
    const took = Date.now() - t0;
    t.is(res.status, 500, `${what}: ${res.text}`);
    t.regex(res.text, /Redis did not answer within redis_timeout/, what);
    t.true(took < 3000, `${what} answered in ${took} ms, deadline 1 s`);
  }
  const a = await dig(agent.dnsPort, 'web.service.consul', 'A');
  t.is(a.status, 'NOERROR');
  t.deepEqual(a.answer.map(x => x.data), ['127.0.0.9']);
  const stale = await agent.req('GET', '/v1/catalog/service/web?stale');
  t.is(stale.status, 200);
  t.is(stale.json.length, 1);
  process.kill(r.pid, 'SIGCONT');
  await until('writes work again', async () => (await reg('w3')).status === 200, 15_000);
  // w2's fate is that of any write whose deadline passed: its script may still run once Redis wakes up
  // (ioredis had sent it), atomically; the agent's anti-entropy then keeps it, as the agent accepted it.
  const ids = (await agent.req('GET', '/v1/catalog/service/web')).json.map((s: { ServiceID: string }) => s.ServiceID);
  t.true(ids.includes('w1') && ids.includes('w3'), ids.join(','));
});
