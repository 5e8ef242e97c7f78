/** eviction: Eureka's self-preservation arithmetic and the evictor, on a fake lease store with a fake clock (no sleeps). */
import test from 'ava';
import { defaultEurekaConfig, type EurekaConfig } from '../../src/config/schema.ts';
import { Evictor, evictionLimit, expirationEnabled, pickRandom, renewalThreshold, renewalsPerMinute } from '../../src/eureka/eviction.ts';
import type { LeaseOps, LeaseState } from '../../src/eureka/leases.ts';

test('eviction: threshold = int(leases × 60 s / interval × percent), Eureka\'s numbers', t => {
  const cfg = defaultEurekaConfig();
  t.is(renewalThreshold(10, cfg), 17, '10 × 2 × 0.85');
  t.is(renewalThreshold(1, cfg), 1);
  t.is(renewalThreshold(0, cfg), 0);
  t.is(renewalThreshold(20, { ...cfg, expectedClientRenewalIntervalMs: 1000 }), 1020);
});

test('eviction: renewals of the last window (whole seconds, the current one excluded) scaled to a minute', t => {
  const b = new Map([[95, 100], [96, 10], [97, 10], [98, 10], [99, 10], [100, 999]]);
  t.is(renewalsPerMinute(b, 100_500, 5000), Math.round((10 * 4 + 100) * 12), 'seconds 95..99');
  t.is(renewalsPerMinute(b, 100_500, 4000), 40 * 15, 'seconds 96..99');
  t.is(renewalsPerMinute(new Map(), 100_000, 60_000), 0);
});

test('eviction: expiry only above the threshold (with self-preservation), always without it; nothing to protect with no leases', t => {
  const on = { enableSelfPreservation: true }; const off = { enableSelfPreservation: false };
  t.true(expirationEnabled(on, 10, 17, 18));
  t.false(expirationEnabled(on, 10, 17, 17), 'Eureka: renews must exceed the threshold');
  t.false(expirationEnabled(on, 1, 0, 5), 'threshold 0 with leases: Eureka never expires');
  t.true(expirationEnabled(on, 0, 0, 0));
  t.true(expirationEnabled(off, 10, 17, 0));
});

test('eviction: at most leases − int(leases × 0.85) per run, chosen at random', t => {
  t.is(evictionLimit(20, 0.85), 3);
  t.is(evictionLimit(100, 0.85), 15);
  t.is(evictionLimit(1, 0.85), 1);
  const items = Array.from({ length: 10 }, (_, i) => i);
  let s = 1;
  const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const a = pickRandom(items, 3, rnd);
  t.is(a.length, 3);
  t.is(new Set(a).size, 3);
  t.deepEqual(pickRandom(items, 50).length, 10);
});

/** A registry of leases on a fake clock: clients renew at `interval`, some stop. */
class FakeLeases implements LeaseOps {
  now = 1_000_000;
  deadlines = new Map<string, number>();
  buckets = new Map<number, number>();
  dropped: string[] = [];
  holder = '';
  readonly durationMs: number;
  constructor(durationMs: number) { this.durationMs = durationMs; }
  register(id: string): void { this.deadlines.set(id, this.now + this.durationMs); }
  renew(id: string): void {
    if (!this.deadlines.has(id)) return;
    this.deadlines.set(id, this.now + this.durationMs);
    const s = Math.floor(this.now / 1000);
    this.buckets.set(s, (this.buckets.get(s) ?? 0) + 1);
  }
  async state(): Promise<LeaseState> {
    const expired = new Map<string, string>();
    for (const [id, d] of this.deadlines) if (d <= this.now) expired.set(id, `${id}-host`);
    return { now: this.now, leases: this.deadlines.size, buckets: new Map(this.buckets), expired };
  }
  async drop(id: string): Promise<boolean> { this.dropped.push(id); return this.deadlines.delete(id); }
  async hold(agent: string): Promise<boolean> { if (!this.holder) this.holder = agent; return this.holder === agent; }
}

function setup(cfgOver: Partial<EurekaConfig> = {}) {
  const cfg = { ...defaultEurekaConfig(), expectedClientRenewalIntervalMs: 1000, renewalRateWindowMs: 5000, evictionIntervalMs: 1000, ...cfgOver };
  const leases = new FakeLeases(3000);
  const evicted: string[] = [];
  const logs: string[] = [];
  const log = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m) };
  const ev = new Evictor({ cfg, ops: leases, agent: 'a', log, evict: async id => { evicted.push(id); }, rnd: () => 0.5 });
  const ids = Array.from({ length: 20 }, (_, i) => `i${i}`);
  for (const id of ids) leases.register(id);
  /** Advances the fake clock second by second: `alive` clients renew each second, then one eviction round. */
  const run = async (secs: number, alive: (id: string) => boolean) => {
    for (let s = 0; s < secs; s++) {
      leases.now += 1000;
      for (const id of ids) if (alive(id)) leases.renew(id);
      await ev.tick();
    }
  };
  return { cfg, leases, evicted, logs, ev, ids, run };
}

test('eviction: of 20 leases, one that stops renewing is evicted; then 15 of 19 stop at once and none is evicted while the mode is reported', async t => {
  const { leases, evicted, logs, ev, ids, run } = setup();
  await run(6, () => true);
  t.false(ev.status.selfPreservation, '20 renewals a second = 1200/min > 1020');
  t.is(ev.status.renewsThreshold, 1020);
  await run(6, id => id !== 'i0');
  t.deepEqual(evicted, ['i0'], '19 of 20 renewing (95%): the lapsed lease goes');
  t.false(ev.status.selfPreservation);
  t.is(leases.deadlines.size, 19);
  const silent = new Set(ids.slice(1, 16));
  await run(10, id => id !== 'i0' && !silent.has(id));
  t.deepEqual(evicted, ['i0'], 'no eviction: renewals fell below 85% of the expected');
  t.true(ev.status.selfPreservation);
  t.is(ev.status.renewsThreshold, Math.floor(19 * 60 * 0.85));
  t.is(leases.deadlines.size, 19);
  t.true(logs.some(l => /self-preservation mode ON/.test(l)));
  t.true(ev.preserving);
  t.false(ev.guardsConsul, 'scope "eureka": Consul-side expiry is not held');
  // They come back: the mode turns off and nothing lapsed is left to evict.
  await run(7, id => id !== 'i0');
  t.false(ev.status.selfPreservation);
  t.true(logs.some(l => /self-preservation mode OFF/.test(l)));
  t.deepEqual(evicted, ['i0']);
});

test('eviction: a mass lapse with self-preservation off is evicted 15% per round, and scope "all" reports guarding Consul expiry', async t => {
  const off = setup({ enableSelfPreservation: false });
  await off.run(3, () => true);
  const keep = (id: string) => id < 'i2'; // i0, i1, i10..i19 keep renewing: 8 lapse (3 s leases)
  await off.run(3, keep);
  t.is(off.evicted.length, 3, 'the first round with lapsed leases: 20 − int(20 × 0.85) = 3');
  await off.run(1, keep);
  t.is(off.evicted.length, 6, 'then 17 − int(17 × 0.85) = 3');
  await off.run(1, keep);
  t.is(off.evicted.length, 8);
  t.is(off.ev.status.evicted, 8);
  t.false(off.evicted.some(keep));
  const all = setup({ selfPreservationScope: 'all' });
  await all.run(6, () => true);
  await all.run(8, id => id === 'i0');
  t.true(all.ev.guardsConsul);
  t.is(all.evicted.length, 0);
});
