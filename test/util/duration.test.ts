import test from 'ava';
import { parseDurationNs, formatDurationNs } from '../../src/util/duration.ts';

for (const [s, ns] of [['10s', 10e9], ['1.5s', 1.5e9], ['120000ms', 120e9], ['1m30s', 90e9], ['0', 0], ['0.001s', 1e6], ['15.0s', 15e9], ['9.987s', 9.987e9], ['500us', 5e5]] as const) {
  test(`duration: parses ${s}`, t => { t.is(parseDurationNs(s), ns); });
}
for (const bad of ['9999999999999h', '2562048h', '10', '', 's', '1.s.', 'abc', '1x']) {
  test(`duration: rejects ${JSON.stringify(bad)}`, t => { t.throws(() => parseDurationNs(bad)); });
}
for (const [ns, s] of [[10e9, '10s'], [60e9, '1m0s'], [1.5e9, '1.5s'], [500e6, '500ms'], [0, '0s'], [3600e9, '1h0m0s'], [150e9, '2m30s']] as const) {
  test(`duration: formats ${s}`, t => { t.is(formatDurationNs(ns), s); });
}
test('duration: the largest Go duration (2562047h47m16.854775807s) parses; past it is Go\'s error', t => {
  t.is(parseDurationNs('2562047h'), 2562047 * 3600e9);
  t.throws(() => parseDurationNs('2562048h'), { message: 'time: invalid duration "2562048h"' });
});
