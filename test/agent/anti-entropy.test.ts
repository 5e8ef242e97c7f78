import test from 'ava';
import { AntiEntropy, RETRY_FAIL_MS, scaleFactor, type Timers } from '../../src/agent/anti-entropy.ts';

/** A fake clock: timers fire only when the test advances time. */
function fakeClock() {
  let now = 0;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    setTimeout: (fn, ms) => { const id = ++seq; pending.set(id, { at: now + ms, fn }); return id; },
    clearTimeout: id => { pending.delete(id as number); },
  };
  return {
    timers,
    now: () => now,
    /** Advances to `t`, firing due timers in order, letting promises settle after each. */
    async advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const next = [...pending.entries()].filter(([, p]) => p.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!next) break;
        pending.delete(next[0]);
        now = next[1].at;
        next[1].fn();
        for (let i = 0; i < 10; i++) await Promise.resolve();
      }
      now = end;
    },
    nextAt: () => Math.min(...[...pending.values()].map(p => p.at)),
  };
}

test('anti-entropy: scale factor is Consul\'s (1 up to 128 nodes, +1 per doubling)', t => {
  t.deepEqual([1, 128, 129, 256, 257, 512, 8192].map(scaleFactor), [1, 1, 2, 2, 3, 3, 7]);
});

test('anti-entropy: full sync every interval plus a stagger scaled by cluster size', async t => {
  const clk = fakeClock();
  let size = 1;
  const at: number[] = [];
  const ae = new AntiEntropy({ intervalMs: 60_000, clusterSize: () => size, random: () => 0.5, timers: clk.timers, sync: async () => { at.push(clk.now()); } });
  ae.start();
  t.is(clk.nextAt(), 90_000); // 60 s + 0.5 × 1 × 60 s
  size = 300; // scale 3: the next one is 60 s + 0.5 × 3 × 60 s later
  await clk.advance(90_000);
  t.deepEqual(at, [90_000]);
  t.is(clk.nextAt(), 90_000 + 150_000);
  await clk.advance(150_000);
  t.deepEqual(at, [90_000, 240_000]);
  ae.stop();
});

test('anti-entropy: trigger syncs at once and re-arms the periodic timer', async t => {
  const clk = fakeClock();
  const at: number[] = [];
  const ae = new AntiEntropy({ intervalMs: 1000, clusterSize: () => 1, random: () => 0, timers: clk.timers, sync: async () => { at.push(clk.now()); } });
  ae.start();
  await clk.advance(400);
  await ae.trigger();
  t.deepEqual(at, [400]);
  t.is(clk.nextAt(), 1400);
  await clk.advance(1000);
  t.deepEqual(at, [400, 1400]);
  ae.stop();
  await clk.advance(10_000);
  t.deepEqual(at, [400, 1400]);
});

test('anti-entropy: triggers during a sync coalesce into one more sync; syncs never overlap', async t => {
  const clk = fakeClock();
  let inFlight = 0, maxInFlight = 0, runs = 0;
  let release!: () => void;
  const ae = new AntiEntropy({
    intervalMs: 1000, clusterSize: () => 1, random: () => 0, timers: clk.timers,
    sync: async () => { inFlight++; maxInFlight = Math.max(maxInFlight, inFlight); runs++; if (runs === 1) await new Promise<void>(r => { release = r; }); inFlight--; },
  });
  ae.start();
  const first = ae.trigger();
  void ae.trigger(); void ae.trigger(); void ae.trigger();
  release();
  await first;
  t.is(runs, 2);
  t.is(maxInFlight, 1);
  ae.stop();
});

test('anti-entropy: a failed sync is retried after 15 s plus stagger, then the interval resumes', async t => {
  const clk = fakeClock();
  const at: number[] = [];
  let fail = true;
  const errors: string[] = [];
  const ae = new AntiEntropy({
    intervalMs: 60_000, clusterSize: () => 1, random: () => 0.1, timers: clk.timers, onError: e => errors.push(e.message),
    sync: async () => { at.push(clk.now()); if (fail) throw new Error('redis down'); },
  });
  ae.start();
  await ae.trigger();
  t.deepEqual(errors, ['redis down']);
  t.is(clk.nextAt(), RETRY_FAIL_MS + 1500);
  fail = false;
  await clk.advance(RETRY_FAIL_MS + 1500);
  t.deepEqual(at, [0, 16_500]);
  t.is(clk.nextAt(), 16_500 + 66_000);
  ae.stop();
});
