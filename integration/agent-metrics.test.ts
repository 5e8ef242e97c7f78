/**
 * Check lateness per check, as a metric (issue 11 item 9): /v1/agent/metrics carries, for every
 * check this agent's workers run, the lateness of its last run, the largest seen, and how far it is
 * overdue (0 = on time), in Consul's JSON shape.
 */
import test from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAgent } from './helpers/agent.ts';
import { until } from './helpers/wait.ts';

test('metrics: every check run by this agent reports its lateness and overdue time', async t => {
  const target = createServer((_q, s) => s.end('ok')).listen(0, '127.0.0.1');
  t.teardown(() => target.close());
  await new Promise(r => target.once('listening', r));
  const port = (target.address() as AddressInfo).port;
  const agent = await startAgent(t);
  const reg = await agent.req('PUT', '/v1/agent/check/register', { ID: 'web-up', Name: 'web up', HTTP: `http://127.0.0.1:${port}/`, Interval: '1s' });
  t.is(reg.status, 200, reg.text);
  const m = await until('a run recorded', async () => {
    const r = await agent.req('GET', '/v1/agent/metrics');
    return r.json.Gauges.some((g: { Name: string; Labels: { check_id?: string } }) => g.Name === 'roster.check.lateness_ms' && g.Labels.check_id === 'web-up') && r;
  }, 15_000);
  t.deepEqual(Object.keys(m.json), ['Timestamp', 'Gauges', 'Points', 'Counters', 'Samples']);
  t.regex(m.json.Timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d0 \+0000 UTC$/);
  const mine = m.json.Gauges.filter((g: { Labels: { check_id?: string } }) => g.Labels.check_id === 'web-up');
  t.deepEqual(mine.map((g: { Name: string }) => g.Name).sort(), ['roster.check.lateness_max_ms', 'roster.check.lateness_ms', 'roster.check.overdue_ms']);
  for (const g of mine) {
    t.is(g.Labels.node, agent.node.toLowerCase());
    t.true(Number.isFinite(g.Value) && g.Value >= 0);
  }
  t.is(mine.find((g: { Name: string }) => g.Name === 'roster.check.overdue_ms').Value, 0);
  t.true(m.json.Gauges.some((g: { Name: string }) => g.Name === 'consul.runtime.alloc_bytes'));
  const prom = await agent.req('GET', '/v1/agent/metrics?format=prometheus');
  t.is(prom.status, 415);
});
