/**
 * A session is not invalidated because Redis was away (issue 12 §2; Consul's rule: a new leader resets
 * every session's TTL timer). Redis frozen (SIGSTOP) for longer than a session's remaining 2×TTL, then
 * SIGCONT: the session survives with its lock, and a session nobody renews after that still expires
 * 2×TTL after Redis came back.
 */
import test from 'ava';
import { testRedis } from './helpers/redis.ts';
import { startAgent } from './helpers/agent.ts';
import { until } from './helpers/wait.ts';

const sleep = (ms: number) => new Promise(res => setTimeout(res, ms));

test('session grace: a Redis freeze longer than the TTL expires no session; an unrenewed one expires 2×TTL after', async t => {
  t.timeout(120_000);
  const r = await testRedis();
  t.teardown(async () => { try { process.kill(r.pid, 'SIGCONT'); } catch {} await r.stop(); });
  const agent = await startAgent(t, { redis: r.url, args: ['-hcl', 'redis_timeout = "1s"'] });
  const create = async () => {
    const res = await agent.req('PUT', '/v1/session/create', { TTL: '10s', Behavior: 'release' });
    t.is(res.status, 200, res.text);
    return res.json.ID as string;
  };
  const alive = async (id: string) => (await agent.req('GET', `/v1/session/info/${id}`)).json.length === 1;
  const holder = await create();
  const idle = await create();
  t.is((await agent.req('PUT', `/v1/kv/lock?acquire=${holder}`, 'me')).json, true);
  process.kill(r.pid, 'SIGSTOP');
  await sleep(21_000); // both deadlines (create + 2×10 s) pass while Redis is frozen
  process.kill(r.pid, 'SIGCONT');
  const back = Date.now();
  let last = '';
  await until('renew works again', async () => { const res = await agent.req('PUT', `/v1/session/renew/${holder}`); last = `${res.status} ${res.text}`; return res.status === 200; }, 10_000).catch(err => { throw new Error(`${(err as Error).message}: last answer ${last}\n${agent.log().split('\n').filter(l => /session|sweep|serf|critical|WARN|ERROR/i.test(l)).slice(-25).join('\n')}`); });
  // A few sweeps (every 500 ms) have run since Redis came back.
  await sleep(2000);
  t.true(await alive(holder), 'the renewing holder survived the freeze');
  t.true(await alive(idle), 'the idle session got its grace too');
  const lock = await agent.req('GET', '/v1/kv/lock');
  t.is(lock.json[0].Session, holder, 'the lock is kept');
  // The holder keeps renewing; the idle session expires 2×TTL after Redis came back, not before.
  while (Date.now() - back < 17_000) {
    t.is((await agent.req('PUT', `/v1/session/renew/${holder}`)).status, 200);
    await sleep(4000);
  }
  t.true(await alive(idle), 'not expired before 2×TTL');
  await until('the idle session expires', async () => {
    t.is((await agent.req('PUT', `/v1/session/renew/${holder}`)).status, 200);
    return !(await alive(idle));
  }, 10_000);
  t.true(Date.now() - back < 25_000, 'expired within 2×TTL (+ sweep) of Redis coming back');
  t.true(await alive(holder));
  t.is((await agent.req('GET', '/v1/kv/lock')).json[0].Session, holder);
});
