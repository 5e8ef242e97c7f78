/**
 * KV, sessions and events while Redis (the system of record) is down: a clear 500 instead of a
 * hang; after Redis is back on the same data, the KV data is there and watches work again.
 */
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedRedis } from '../src/store/embedded-redis.ts';
import { startAgent } from './helpers/agent.ts';

test('redis down: KV/session/event requests fail fast with a clear 500; back after Redis returns', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-down-'));
  let redis = await startEmbeddedRedis(dir);
  const port = redis.port;
  t.teardown(() => redis.stop());
  const agent = await startAgent(t, { redis: redis.url });
  t.is((await agent.req('PUT', '/v1/kv/down/k', 'v')).json, true);
  await redis.stop();
  await new Promise(r => setTimeout(r, 300));
  for (const [m, p] of [['GET', '/v1/kv/down/k'], ['PUT', '/v1/kv/down/k'], ['PUT', '/v1/session/create'], ['GET', '/v1/session/list'], ['GET', '/v1/event/list']] as const) {
    const t0 = Date.now();
    const r = await agent.req(m, p);
    t.is(r.status, 500, `${m} ${p}`);
    t.regex(r.text, /Redis is unreachable/);
    t.true(Date.now() - t0 < 1000);
  }
  redis = await startEmbeddedRedis(dir, { port });
  let ok = false;
  for (let i = 0; i < 50 && !ok; i++) {
    await new Promise(r => setTimeout(r, 200));
    ok = (await agent.req('GET', '/v1/kv/down/k')).status === 200;
  }
  t.true(ok, 'KV readable again');
  const cur = (await agent.req('GET', '/v1/kv/down/k')).json[0].ModifyIndex;
  const w = agent.req('GET', `/v1/kv/down/k?index=${cur}&wait=5s`);
  await new Promise(r => setTimeout(r, 200));
  await agent.req('PUT', '/v1/kv/down/k', 'v2');
  t.is(Buffer.from((await w).json[0].Value, 'base64').toString(), 'v2');
});
