import test from 'ava';
import { makeServer, node, query, state, svc } from './helpers.ts';
import { M, metrics } from '../../src/util/metrics/index.ts';
import { TIME_EVERY } from '../../src/dns/metrics.ts';

const value = (name: string, labels: Record<string, string>) => {
  const f = metrics.get(name)!;
  for (const s of f.all()) if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s;
  return undefined;
};

test('every query is counted under Consul\'s names (PTR apart), responses by rcode, cache totals read at scrape time', async t => {
  const { server } = makeServer([state(node('n1', '10.0.0.1'), [svc('web', { port: 80 })])], { nodeName: 'dns-metrics-node' });
  const domain = M.dnsDomainQuery.series('dns-metrics-node');
  const ptr = M.dnsPtrQuery.series('dns-metrics-node');
  const d0 = domain.count, p0 = ptr.count;
  const nx0 = value('roster.dns.responses', { rcode: 'NXDOMAIN' })?.count ?? 0;
  const n = 4 * TIME_EVERY;
  for (let i = 0; i < n; i++) await server.handle(query('web.service.consul', 'A', { id: i }));
  for (let i = 0; i < 3; i++) await server.handle(query('nope.service.consul', 'A'));
  await server.handle(query('1.0.0.10.in-addr.arpa', 'PTR'));
  await server.handle(query('9.9.9.10.in-addr.arpa', 'PTR'));
  t.is(domain.count - d0, 0, 'per query only plain numbers move; series are filled when read');
  metrics.rotate();
  t.is(domain.count - d0, n + 3);
  t.is(ptr.count - p0, 2);
  t.is((value('roster.dns.responses', { rcode: 'NXDOMAIN' })?.count ?? 0) - nx0, 3 + 1);
  // One query in TIME_EVERY is timed; each stands for TIME_EVERY in the sum.
  t.true(domain.sum > 0);
  t.true(ptr.count - p0 === 2 && Number.isFinite(ptr.sum));
  const stats = server.stats();
  const text = metrics.get('roster.dns.cache_hits')!.read!();
  t.is([...text][0]!.value, stats.hits);
});
