import test from 'ava';
import { MetricsRegistry, promName } from '../../src/util/metrics/registry.ts';
import { renderJson } from '../../src/util/metrics/json.ts';
import { PrometheusExporter } from '../../src/util/metrics/prometheus.ts';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 0); // on a 10 s boundary

function reg(): MetricsRegistry {
  const r = new MetricsRegistry();
  r.intervalStart = T0;
  return r;
}

test('promName flattens as go-metrics does', t => {
  t.is(promName('consul.serf.coordinate.adjustment-ms'), 'consul_serf_coordinate_adjustment_ms');
  t.is(promName('consul.http.GET.v1.kv._'), 'consul_http_GET_v1_kv__');
});

test('JSON: the current interval until one closes, then the last closed one; aggregates as go-metrics', t => {
  const r = reg();
  const s = r.sample('consul.api.http', undefined, ['method', 'path']);
  const c = r.counter('consul.catalog.service.query', undefined, ['service']);
  s.with('GET', 'v1_agent_self').observe(2);
  s.with('GET', 'v1_agent_self').observe(4);
  c.with('web').inc();
  let j = renderJson(r, [], T0 + 5000);
  t.is(j.Timestamp, '2026-01-02 03:04:00 +0000 UTC');
  t.deepEqual(j.Samples, [{ Name: 'consul.api.http', Count: 2, Rate: 0.6, Sum: 6, Min: 2, Max: 4, Mean: 3, Stddev: Math.sqrt(2), Labels: { method: 'GET', path: 'v1_agent_self' } }]);
  t.deepEqual(j.Counters.map(x => [x.Name, x.Count, x.Labels]), [['consul.catalog.service.query', 1, { service: 'web' }]]);
  // Next interval: new observations do not show until it closes.
  s.with('GET', 'v1_agent_self').observe(10);
  j = renderJson(r, [], T0 + 12_000);
  t.is(j.Timestamp, '2026-01-02 03:04:00 +0000 UTC');
  t.is(j.Samples[0]!.Count, 3); // the 10 was recorded before the boundary was noticed: it belongs to the closed interval
  j = renderJson(r, [], T0 + 21_000);
  t.is(j.Timestamp, '2026-01-02 03:04:10 +0000 UTC');
  t.deepEqual(j.Samples, []); // nothing in 03:04:10–20
  t.deepEqual(j.Counters, []);
  t.deepEqual(Object.keys(j), ['Timestamp', 'Gauges', 'Points', 'Counters', 'Samples']);
});

test('labelled series expire after the retention; pinned ones stay', t => {
  const r = reg();
  r.settings.retentionMs = 15_000;
  const c = r.counter('x', undefined, ['k']);
  const pinned = c.series('kept');
  c.with('gone').inc();
  const gone = [...c.all()].find(s => s.labels.k === 'gone')!;
  gone.touched = T0;
  pinned.touched = T0;
  r.rotate(T0 + 30_000);
  t.deepEqual([...c.all()].map(s => s.labels.k), ['kept']);
});

test('gauges read at scrape time, prefix and host name as Consul names them', t => {
  const r = reg();
  let v = 1;
  r.gauge('consul.runtime.alloc_bytes', undefined, () => [{ value: v }]);
  v = 7;
  t.deepEqual(renderJson(r, [], T0).Gauges, [{ Name: 'consul.runtime.alloc_bytes', Value: 7, Labels: {} }]);
  r.settings.prefix = 'roster_x';
  r.settings.hostname = 'h1';
  t.deepEqual(renderJson(r, [], T0).Gauges.map(g => g.Name), ['roster_x.h1.runtime.alloc_bytes']);
});

test('Prometheus text: counters as totals, samples as summaries, histograms with le buckets', async t => {
  const r = reg();
  r.counter('roster.dns.responses', 'DNS responses', ['rcode']).series('NOERROR').inc();
  const s = r.sample('consul.dns.domain_query', 'time', ['node']).series('n1');
  for (let i = 1; i <= 100; i++) s.observe(i);
  const h = r.histogram('roster.check.lateness_seconds', [0.1, 1], 'lateness').with();
  h.observe(0.05); h.observe(0.5); h.observe(3);
  r.sample('consul.api.http', 'http', ['method', 'path']);
  const text = await new PrometheusExporter(r, { defaults: false }).text();
  t.regex(text, /^# HELP roster_dns_responses DNS responses$/m);
  t.regex(text, /^# TYPE roster_dns_responses counter$/m);
  t.regex(text, /^roster_dns_responses\{rcode="NOERROR"\} 1$/m);
  t.regex(text, /^# TYPE consul_dns_domain_query summary$/m);
  const q50 = Number(/^consul_dns_domain_query\{node="n1",quantile="0.5"\} (\S+)$/m.exec(text)![1]);
  const q99 = Number(/^consul_dns_domain_query\{node="n1",quantile="0.99"\} (\S+)$/m.exec(text)![1]);
  t.true(q50 > 45 && q50 < 56, String(q50)); // log buckets: within ~5 %
  t.true(q99 > 94 && q99 < 105, String(q99));
  t.regex(text, /^consul_dns_domain_query_sum\{node="n1"\} 5050$/m);
  t.regex(text, /^consul_dns_domain_query_count\{node="n1"\} 100$/m);
  t.regex(text, /^roster_check_lateness_seconds_bucket\{le="0.1"\} 1$/m);
  t.regex(text, /^roster_check_lateness_seconds_bucket\{le="1"\} 2$/m);
  t.regex(text, /^roster_check_lateness_seconds_bucket\{le="\+Inf"\} 3$/m);
  t.regex(text, /^# TYPE consul_api_http summary$/m); // declared, no series yet
});

test('recording allocates nothing: millions of increments and observations', t => {
  const r = reg();
  const c = r.counter('c').series();
  const s = r.sample('s', undefined, ['node']).series('n');
  for (let i = 0; i < 100_000; i++) { c.inc(); s.observe(i / 10); s.addSample(i / 10, 16); s.tally(); } // warm up (JIT)
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 2_000_000; i++) { c.inc(); s.observe((i % 1000) / 10); s.addSample(i % 7, 16); s.tally(); }
  const grew = process.memoryUsage().heapUsed - before;
  // One boxed number per call would be ≥ 2,000,000 × 16 bytes; the bound leaves room for the JIT's own.
  t.true(grew < 4_000_000, `heap grew ${grew} bytes`);
  t.is(c.count, 2_100_000);
});
