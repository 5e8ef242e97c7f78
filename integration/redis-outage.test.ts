/**
 * Redis is the system of record, but DNS must keep answering from the last view while Redis is
 * unreachable, the HTTP API must say so clearly, and both must recover on their own.
 */
import test from 'ava';
import { startAgent } from './helpers/agent.ts';
import { testRedis } from './helpers/redis.ts';
import { dig } from './helpers/dig.ts';
import { startEmbeddedRedis } from '../src/store/embedded-redis.ts';

test('outage: DNS answers from the last view while Redis is down; HTTP returns 500; both recover', async t => {
  const r = await testRedis();
  t.teardown(() => r.stop());
  const a = await startAgent(t, { redis: r.url });
  await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'w1', Port: 80, Address: '127.0.0.7' });
  await r.stop();
  let again: Awaited<ReturnType<typeof startEmbeddedRedis>> | undefined;
  t.teardown(() => again?.stop());
  await new Promise(res => setTimeout(res, 300));
  t.deepEqual((await dig(a.dnsPort, 'web.service.consul', 'A')).answer.map(x => x.data), ['127.0.0.7']);
  const down = await a.req('GET', '/v1/catalog/service/web');
  t.is(down.status, 500);
  t.regex(down.text, /Redis is unreachable/);
  const reg = await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'w2', Port: 80, Address: '127.0.0.8' });
  t.is(reg.status, 500);
  t.is((await a.req('GET', '/v1/catalog/service/web?stale')).status, 200);

  again = await startEmbeddedRedis(r.dir, { port: r.port });
  const end = Date.now() + 10_000;
  let ok = false;
  while (Date.now() < end) {
    if ((await a.req('GET', '/v1/catalog/service/web')).status === 200) { ok = true; break; }
    await new Promise(res => setTimeout(res, 100));
  }
  t.true(ok, 'HTTP recovered');
  t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'w2', Port: 80, Address: '127.0.0.8' })).status, 200);
  t.deepEqual((await dig(a.dnsPort, 'web.service.consul', 'A')).answer.map(x => x.data).sort(), ['127.0.0.7', '127.0.0.8']);
});
