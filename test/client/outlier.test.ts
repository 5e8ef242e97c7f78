import test from 'ava';
import { Ejector } from '../../src/client/outlier.ts';

test('outlier: ejection doubles per consecutive failure and is capped', t => {
  let now = 0;
  const e = new Ejector({ baseMs: 100, maxMs: 1000, now: () => now });
  t.deepEqual([1, 2, 3, 4, 5, 6].map(() => e.fail('a')), [100, 200, 400, 800, 1000, 1000]);
  t.true(e.isEjected('a'));
  now = 999;
  t.true(e.isEjected('a'));
  now = 1000;
  t.false(e.isEjected('a'));
});

test('outlier: a success clears the record', t => {
  let now = 0;
  const e = new Ejector({ baseMs: 100, now: () => now });
  e.fail('a');
  e.fail('a');
  e.succeed('a');
  t.false(e.isEjected('a'));
  t.is(e.failures('a'), 0);
  t.is(e.fail('a'), 100);
});

test('outlier: filter drops ejected and excluded instances', t => {
  let now = 0;
  const e = new Ejector({ baseMs: 100, now: () => now });
  const l = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
  e.fail('a');
  t.deepEqual(e.filter(l).map(i => i.id), ['b', 'c']);
  t.deepEqual(e.filter(l, new Set(['b'])).map(i => i.id), ['c']);
  now = 100;
  t.deepEqual(e.filter(l).map(i => i.id), ['a', 'b', 'c']);
});

test('outlier: when every instance is ejected, the one back soonest is used (panic mode)', t => {
  const now = 0;
  const e = new Ejector({ baseMs: 100, now: () => now });
  const l = [{ id: 'a' }, { id: 'b' }];
  e.fail('a');
  e.fail('a');
  e.fail('b');
  t.deepEqual(e.filter(l).map(i => i.id), ['b']);
  t.deepEqual(e.filter(l, new Set(['a', 'b'])), []);
});

test('outlier: retain forgets instances that left the catalog', t => {
  const e = new Ejector({ baseMs: 100 });
  e.fail('a');
  e.fail('b');
  e.retain(new Set(['b']));
  t.is(e.failures('a'), 0);
  t.is(e.failures('b'), 1);
});
