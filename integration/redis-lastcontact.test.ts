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
  // Past the reader's own deadline (block 5 s + redis_timeout 1 s) its connection is re-opened; a read parked on
  // a connection a frozen Redis never answered must not pass for contact (it did: LastContact fell back to 0).
  await new Promise(res => setTimeout(res, Math.max(0, frozenAt + 7500 - Date.now())));
  const afterReconnect = await contact('?stale');
  t.true(afterReconnect.ms > 6000, `LastContact keeps growing across the reader's reconnect (${afterReconnect.ms} ms)`);
  t.is(afterReconnect.leader, 'false');
  process.kill(r.pid, 'SIGCONT');
  await until('LastContact drops back', async () => { const c = await contact('?stale'); return c.ms < 1000 && c.leader === 'true'; }, 15_000);
  const after = await contact('');
  t.true(after.ms < 1000, `default read after SIGCONT: ${after.ms}`);
});

test('max_stale: a stale read is served while the view is fresh enough, else read as ?consistent (500 while Redis is frozen)', async t => {
  const r = await testRedis();
  t.teardown(async () => { try { process.kill(r.pid, 'SIGCONT'); } catch {} await r.stop(); });
  const agent = await startAgent(t, { redis: r.url, args: ['-hcl', 'redis_timeout = "1s"', '-hcl', 'discovery_max_stale = "2s"'] });
  t.is((await agent.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'w1', Port: 80 })).status, 200);
  const bad = await agent.req('GET', '/v1/catalog/service/web?max_stale=soon');
  t.is(bad.status, 400);
  t.is(bad.text, 'Invalid max_stale value "soon"');
  t.is((await agent.req('GET', '/v1/catalog/service/web?max_stale=5s&consistent')).status, 400, 'max_stale > 0 is a stale read: not with ?consistent');
  for (const q of ['?max_stale=2s', '', '?leader']) t.is((await agent.req('GET', `/v1/catalog/service/web${q}`)).status, 200, `fresh view${q}`);
  process.kill(r.pid, 'SIGSTOP');
  await until('the view is older than 2 s', async () => Number((await agent.req('GET', '/v1/catalog/service/web?stale')).headers.get('X-Consul-LastContact')) > 2500, 15_000);
  const status = async (q: string) => {
    const t0 = Date.now();
    const res = await agent.req('GET', `/v1/catalog/service/web${q}`);
    return { status: res.status, ms: Date.now() - t0, text: res.text };
  };
  const within = await status('?max_stale=1h');
  t.is(within.status, 200, 'a view younger than max_stale is served');
  const past = await status('?max_stale=2s');
  t.is(past.status, 500, `a view older than max_stale is read from Redis, which is frozen: ${past.text}`);
  t.true(past.ms < 4000, `and fails within the deadline (${past.ms} ms)`);
  const dflt = await status('');
  t.is(dflt.status, 500, `discovery_max_stale makes a default catalog read a max_stale read: ${dflt.status} ${dflt.text}`);
  t.is((await status('?leader')).status, 200, '?leader opts out of discovery_max_stale (the view is served, as a default read is without it)');
  t.is((await status('?stale')).status, 200, '?stale alone has no bound');
  process.kill(r.pid, 'SIGCONT');
  await until('max_stale reads answer again', async () => (await status('?max_stale=2s')).status === 200, 15_000);
});
