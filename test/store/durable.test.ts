import test from 'ava';
import type { Redis } from 'ioredis';
import { AUTO_HOLD_MS, DurableAcks, NotDurableError } from '../../src/store/durable.ts';

/** A stand-in connection whose WAIT replies are released by the test. */
function fakeRedis(info = 'role:master\r\nconnected_slaves:2\r\n') {
  const waits: { args: [number, number]; resolve: (n: number) => void }[] = [];
  const r = {
    status: 'ready',
    info: async () => r.infoText,
    infoText: info,
    on() { return r; },
    wait: (n: number, ms: number) => new Promise<number>(resolve => { waits.push({ args: [n, ms], resolve }); }),
  };
  return { redis: r as unknown as Redis, waits };
}
const tick = () => new Promise(r => setImmediate(r));

test('durable: no replicas required (0) sends no WAIT', async t => {
  const { redis, waits } = fakeRedis();
  await new DurableAcks(redis, { configured: 0, waitMs: 1000 }).confirm();
  t.is(waits.length, 0);
});

test('durable: auto is 1 when the primary reports replicas, 0 when it reports none', async t => {
  const a = new DurableAcks(fakeRedis().redis, { waitMs: 1000 });
  t.is(await a.refresh(), 1);
  t.is(a.required(), 1);
  const b = new DurableAcks(fakeRedis('role:master\r\nconnected_slaves:0\r\n').redis, { waitMs: 1000 });
  t.is(await b.refresh(), undefined);
  t.is(b.required(), 0);
});

test('durable: after a failover to a primary without replicas yet, auto keeps requiring one (writes fail rather than being acknowledged unsafely) until the primary has reported none for AUTO_HOLD_MS', async t => {
  const f = fakeRedis();
  let now = 1_000_000;
  const d = new DurableAcks(f.redis, { waitMs: 1000, now: () => now });
  t.is(await d.refresh(), 1);
  (f.redis as unknown as { infoText: string }).infoText = 'role:master\r\nconnected_slaves:0\r\n';
  now += 5000;
  t.is(await d.refresh(), undefined);
  t.is(d.required(), 1, 'a new primary without replicas right after a failover');
  now += AUTO_HOLD_MS;
  t.is(await d.refresh(), 0, 'replicas removed for good');
  t.is(d.required(), 0);
});

test('durable: writers share WAITs; a write finished while a WAIT is in flight waits for the next one', async t => {
  const { redis, waits } = fakeRedis();
  const d = new DurableAcks(redis, { configured: 1, waitMs: 700 });
  const first = d.confirm();
  await tick();
  t.is(waits.length, 1);
  t.deepEqual(waits[0]!.args, [1, 700]);
  // Two more writes finish while the first WAIT is out: it may have been sent before them.
  let done2 = false;
  const second = d.confirm().then(() => { done2 = true; });
  const third = d.confirm();
  await tick();
  t.is(waits.length, 1, 'never two WAITs in flight');
  waits[0]!.resolve(1);
  await first;
  await tick();
  t.false(done2, 'not confirmed by a WAIT sent before the write');
  t.is(waits.length, 2, 'one WAIT for both queued writers');
  waits[1]!.resolve(1);
  await Promise.all([second, third]);
  t.true(done2);
});

test('durable: fewer replicas than required is NotDurableError naming the fate of the write', async t => {
  const { redis, waits } = fakeRedis();
  const d = new DurableAcks(redis, { configured: 2, waitMs: 1000 });
  const p = d.confirm();
  await tick();
  waits[0]!.resolve(1);
  const err = await t.throwsAsync(p, { instanceOf: NotDurableError });
  t.is(err!.message, 'write not confirmed by Redis replicas: 1 of 2 acknowledged within 1000 ms (redis_min_replicas_acked); the write was applied on the primary and may or may not survive a failover');
});
