import test from 'ava';
import { parseWorkers } from '../../src/cli/router.ts';

test('router -workers: auto (the default) is one process per CPU; N is N; anything else is an error', t => {
  t.is(parseWorkers(undefined, 8), 8);
  t.is(parseWorkers('auto', 2), 2);
  t.is(parseWorkers('', 1), 1);
  t.is(parseWorkers('3', 8), 3);
  t.is(parseWorkers('1', 8), 1);
  for (const bad of ['0', '-1', '1.5', 'two']) t.throws(() => parseWorkers(bad, 4), { message: `invalid -workers "${bad}" (a positive integer or auto)` });
});
