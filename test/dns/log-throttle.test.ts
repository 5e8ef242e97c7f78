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
