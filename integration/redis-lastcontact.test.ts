/**
 * X-Consul-LastContact tells clients how old the view is (issue 12 §2): ~0 on a healthy idle agent,
 * growing while Redis is frozen (SIGSTOP), with X-Consul-KnownLeader false past redis_timeout, and
 * back to ~0 after SIGCONT.
 */
import test from 'ava';
import { testRedis } from './helpers/redis.ts';
import { startAgent } from './helpers/agent.ts';
import { until } from './helpers/wait.ts';

test('lastcontact: grows on ?stale reads while Redis is frozen, drops back after SIGCONT', async t => {
  const r = await testRedis();
  t.teardown(async () => { try { process.kill(r.pid, 'SIGCONT'); } catch {} await r.stop(); });
  const agent = await startAgent(t, { redis: r.url, args: ['-hcl', 'redis_timeout = "1s"'] });
  t.is((await agent.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'w1', Port: 80 })).status, 200);
  const contact = async (q: string) => {
    const res = await agent.req('GET', `/v1/catalog/service/web${q}`);
    t.is(res.status, 200, res.text);
    return { ms: Number(res.headers.get('X-Consul-LastContact')), leader: res.headers.get('X-Consul-KnownLeader') };
  };
  // Idle for longer than one change-log block (5 s): still current.
  await new Promise(res => setTimeout(res, 6000));
  for (const q of ['', '?stale']) {
    const c = await contact(q);
    t.true(c.ms < 1000, `healthy idle agent${q}: LastContact ${c.ms}`);
    t.is(c.leader, 'true');
  }
  process.kill(r.pid, 'SIGSTOP');
  const frozenAt = Date.now();
  let seen = { ms: 0, leader: 'true' as string | null };
  await until('LastContact grows past redis_timeout', async () => { seen = await contact('?stale'); return seen.ms > 2000; }, 15_000);
  t.is(seen.leader, 'false');
  t.true(seen.ms <= Date.now() - frozenAt + 5500, `LastContact ${seen.ms} ms is not older than the freeze + one block`);
  const later = await contact('?stale');
  t.true(later.ms >= seen.ms, `${later.ms} >= ${seen.ms}`);
  process.kill(r.pid, 'SIGCONT');
  await until('LastContact drops back', async () => { const c = await contact('?stale'); return c.ms < 1000 && c.leader === 'true'; }, 15_000);
  const after = await contact('');
  t.true(after.ms < 1000, `default read after SIGCONT: ${after.ms}`);
});
