/** LogThrottle: errors counted, logged once per interval per kind (fake clock). */
import test from 'ava';
import { LogThrottle } from '../../src/dns/log-throttle.ts';
import type { Logger } from '../../src/log.ts';

function capture(): { log: Logger; lines: [string, Record<string, unknown> | undefined][] } {
  const lines: [string, Record<string, unknown> | undefined][] = [];
  const w = (m: string, f?: Record<string, unknown>): void => { lines.push([m, f]); };
  return { lines, log: { trace: w, debug: w, info: w, warn: w, error: w, enabled: () => true } };
}

test('log-throttle: 10,000 failures in one interval write one line; the next line says how many were suppressed', t => {
  let now = 1_000_000;
  const c = capture();
  const th = new LogThrottle(c.log, 10_000, () => now);
  for (let i = 0; i < 10_000; i++) { th.note('error', 'dns: query failed', { i }); now += 0.5; }
  t.is(c.lines.length, 1);
  t.deepEqual(c.lines[0], ['dns: query failed', { i: 0 }]);
  now += 10_000;
  th.note('error', 'dns: query failed', { i: 'last' });
  t.is(c.lines.length, 2);
  t.deepEqual(c.lines[1], ['dns: query failed', { i: 'last', suppressed: 9_999, interval: '10s' }]);
  t.is(th.counts.get('dns: query failed'), 10_001);
});

test('log-throttle: kinds are throttled separately', t => {
  const c = capture();
  const th = new LogThrottle(c.log, 10_000, () => 0);
  th.note('warn', 'a'); th.note('warn', 'b'); th.note('warn', 'a');
  t.deepEqual(c.lines.map(l => l[0]), ['a', 'b']);
});

test('log-throttle: 10,000 queries for a name DNS cannot carry (a 70-octet label) write one ERROR line, and each gets SERVFAIL', async t => {
  const { CatalogView } = await import('../../src/catalog/view.ts');
  const { DnsServer } = await import('../../src/dns/server.ts');
  const { state, node, svc, config, query } = await import('./helpers.ts');
  const view = new CatalogView();
  view.replaceAll([state(node('web1', '10.0.0.1'), [svc('web', { address: 'a'.repeat(70) + '.example.com' })])], 1);
  const c = capture();
  const server = new DnsServer({ view, config: config(), log: c.log });
  let servfail = 0;
  for (let i = 0; i < 10_000; i++) {
    const r = (await server.handle(query('web.service.consul', 'SRV', { id: i }), 'udp'))!;
    if ((r[3]! & 0x0f) === 2) servfail++;
  }
  t.is(servfail, 10_000);
  t.is(c.lines.filter(l => l[0] === 'dns: query failed').length, 1);
  t.is(server.errorCounts()['dns: query failed'], 10_000);
});
