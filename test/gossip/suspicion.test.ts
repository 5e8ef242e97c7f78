import test from 'ava';
import { suspicionTimeout, remainingSuspicionTime, Suspicion, Awareness } from '../../src/gossip/suspicion.ts';
import { mock } from 'node:test';

// Timing with a fake clock (node:test's mock timers: setTimeout and Date), so the assertions are exact
// and independent of machine load. The timer tests run serially: the fake clock is process-wide.
function fakeClock(t: { teardown(fn: () => void): void }): (ms: number) => void {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  t.teardown(() => mock.timers.reset());
  return ms => { for (let i = 0; i < ms; i++) mock.timers.tick(1); }; // 1 ms steps: a timer's callback sees its own time
}

// memberlist: min = SuspicionMult × max(1, log10(max(1, n))) × ProbeInterval
for (const [n, expected] of [[0, 4000], [1, 4000], [3, 4000], [10, 4000], [100, 8000], [1000, 12000], [200, 9204]] as const) {
  test(`suspicion: LAN minimum timeout for n=${n} is ${expected} ms`, t => {
    t.is(suspicionTimeout(4, n, 1000), expected);
  });
}

// memberlist suspicion_test.go TestSuspicion_remainingSuspicionTime table (min 2 s, max 30 s, k = 3).
for (const [c, elapsed, expected] of [[0, 0, 30000], [1, 2000, 14000], [2, 3000, 4810], [3, 4000, -2000], [4, 5000, -3000], [5, 10000, -8000]] as const) {
  test(`suspicion: remaining time after ${c} confirmations at ${elapsed} ms is ${expected} ms`, t => {
    t.is(remainingSuspicionTime(c, 3, elapsed, 2000, 30000), expected);
  });
}

test.serial('suspicion: without expected confirmations (k=0) the timer fires at min', t => {
  const tick = fakeClock(t);
  let fired = -1; const start = Date.now();
  const s = new Suspicion('accuser', 0, 60, 600, n => { fired = Date.now() - start; t.is(n, 0); });
  t.false(s.confirm('other'), 'no confirmations accepted when none are expected');
  tick(59);
  t.is(fired, -1);
  tick(91);
  t.true(fired >= 55 && fired < 150, `fired after ${fired} ms`);
  t.is(fired, 60);
});

test.serial('suspicion: starts at max and independent confirmations shorten it', async t => {
  const tick = fakeClock(t);
  let fired = -1; let count = -1; const start = Date.now();
  const s = new Suspicion('a', 2, 100, 2000, n => { fired = Date.now() - start; count = n; });
  t.false(s.confirm('a'), 'the accuser does not confirm itself');
  t.true(s.confirm('b'));
  t.false(s.confirm('b'), 'one confirmation per peer');
  // After 1 of 2: max − ln2/ln3 × (max − min) ≈ 801 ms.
  tick(300);
  t.is(fired, -1);
  t.true(s.confirm('c'));
  tick(60);
  await Promise.resolve(); // past its deadline, it fires in a microtask
  t.true(fired >= 0 && fired < 450, `k confirmations bring it down to min (fired at ${fired} ms)`);
  t.is(count, 2);
  t.false(s.confirm('d'), 'no more confirmations after firing');
});

test.serial('suspicion: a single confirmation moves the deadline to the formula value', t => {
  const tick = fakeClock(t);
  let fired = -1; const start = Date.now();
  const s = new Suspicion('a', 2, 100, 2000, () => { fired = Date.now() - start; });
  s.confirm('b');
  tick(700);
  t.is(fired, -1, 'not before ~801 ms');
  tick(250);
  t.true(fired >= 790 && fired < 950, `fired at ${fired} ms`);
  t.true(fired >= 800 && fired <= 802, `at the formula value, ~801 ms (fired at ${fired} ms)`);
});

test.serial('suspicion: stop() cancels the timer', t => {
  const tick = fakeClock(t);
  let fired = false;
  const s = new Suspicion('a', 0, 30, 60, () => { fired = true; });
  s.stop();
  tick(80);
  t.false(fired);
});

test('awareness: score stays within [0, max-1] and scales timeouts by score+1', t => {
  const a = new Awareness(8);
  a.applyDelta(-1); t.is(a.score, 0);
  t.is(a.scaleTimeout(1000), 1000);
  a.applyDelta(3); t.is(a.scaleTimeout(1000), 4000);
  a.applyDelta(100); t.is(a.score, 7);
  t.is(a.scaleTimeout(500), 4000);
  a.applyDelta(-2); t.is(a.score, 5);
});
