/**
 * Check lateness per check, as a metric (issue 11 item 9): /v1/agent/metrics carries, for every
 * check this agent's workers run, the lateness of its last run, the largest seen, and how far it is
 * overdue (0 = on time), in Consul's JSON shape.
 */
import test from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAgent } from './helpers/agent.ts';
import { sleep, until } from './helpers/wait.ts';

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
  // The run's result is recorded once the probe answered (after its start, which the gauges above saw).
  const prom = await until('a check result', async () => {
    const r = await agent.req('GET', '/v1/agent/metrics?format=prometheus');
    return /^roster_check_results\{status="passing"\} \d+$/m.test(r.text) && r;
  }, 15_000);
  t.is(prom.status, 200);
  t.regex(prom.text, /^roster_check_lateness_seconds_count \d+$/m);
  // The per-check gauges the agent reports through its hook are in the Prometheus text too.
  t.regex(prom.text, /^roster_check_lateness_ms\{node="[^"]+",check_id="web-up"\} \d+(\.\d+)?$/m);
  t.regex(prom.text, /^# TYPE roster_check_lateness_seconds histogram$/m);
  t.regex(prom.text, /^roster_check_results\{status="passing"\} \d+$/m);
});

test('metrics: Consul\'s JSON intervals and names, and Prometheus text by ?format or Accept', async t => {
  const agent = await startAgent(t);
  // All the requests inside one 10 s interval (intervals start on wall-clock multiples of 10 s, as go-metrics').
  const left = 10_000 - (Date.now() % 10_000);
  if (left < 3000) await sleep(left + 100);
  for (let i = 0; i < 3; i++) t.is((await agent.req('GET', '/v1/agent/self')).status, 200);
  await agent.req('PUT', '/v1/kv/a', 'x');
  await agent.req('GET', '/v1/catalog/service/nope');
  // The JSON shows the last closed 10 s interval: wait for one to close after the requests.
  const m = await until('an interval with the requests', async () => {
    const r = await agent.req('GET', '/v1/agent/metrics');
    return r.json.Samples.some((s: { Name: string; Labels: Record<string, string> }) => s.Name === 'consul.api.http' && s.Labels.path === 'v1_agent_self') && r;
  }, 25_000);
  t.deepEqual(Object.keys(m.json), ['Timestamp', 'Gauges', 'Points', 'Counters', 'Samples']);
  const self = m.json.Samples.find((s: { Name: string; Labels: Record<string, string> }) => s.Name === 'consul.api.http' && s.Labels.path === 'v1_agent_self');
  t.deepEqual(Object.keys(self), ['Name', 'Count', 'Rate', 'Sum', 'Min', 'Max', 'Mean', 'Stddev', 'Labels']);
  t.deepEqual(self.Labels, { method: 'GET', path: 'v1_agent_self' });
  t.is(self.Count, 3);
  t.true(Math.abs(self.Mean - self.Sum / self.Count) < 1e-9);
  t.true(Math.abs(self.Rate - self.Sum / 10) < 1e-9);
  t.true(m.json.Samples.some((s: { Name: string }) => s.Name === 'consul.kvs.apply'));
  const names = (xs: { Name: string; Labels: Record<string, string> }[]) => xs.map(x => `${x.Name}${JSON.stringify(x.Labels)}`);
  t.true(names(m.json.Counters).includes('consul.catalog.service.query{"service":"nope"}'));
  t.true(names(m.json.Counters).includes('consul.catalog.service.not-found{"service":"nope"}'));
  t.true(names(m.json.Gauges).includes('consul.state.nodes{"datacenter":"dc1"}'));
  t.true(names(m.json.Gauges).includes('consul.runtime.num_goroutines{}'));

  const byFormat = await fetch(`${agent.http}/v1/agent/metrics?format=prometheus`);
  t.is(byFormat.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const text = await byFormat.text();
  t.regex(text, /^# TYPE consul_api_http summary$/m);
  t.regex(text, /^consul_api_http\{method="GET",path="v1_agent_self",quantile="0\.5"\} [0-9.e+-]+$/m);
  t.regex(text, /^consul_api_http_count\{method="GET",path="v1_agent_self"\} 3$/m);
  t.regex(text, /^consul_catalog_service_not_found\{service="nope"\} 1$/m);
  t.regex(text, /^# TYPE consul_runtime_alloc_bytes gauge$/m);
  const byAccept = await fetch(`${agent.http}/v1/agent/metrics`, { headers: { Accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' } });
  t.is(byAccept.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  t.regex(await byAccept.text(), /^consul_runtime_alloc_bytes /m);
});
