import test from 'ava';
import { Notifier, TICK_MS, blocking, sharedBlocking, renderKey, type Clock } from '../../src/http/blocking.ts';
import { RenderCache } from '../../src/http/render-cache.ts';
import type { Ctx } from '../../src/http/server.ts';

/** A manual clock: timers run only when the test advances time. Counts live timers. */
function manualClock(start = 1_000_000): Clock & { advance(ms: number): Promise<void>; live(): number; armed: number } {
  let now = start;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let id = 0;
  const c = {
    armed: 0,
    now: () => now,
    setTimeout(fn: () => void, ms: number) { c.armed++; timers.set(++id, { at: now + ms, fn }); return id; },
    clearTimeout(h: unknown) { timers.delete(h as number); },
    live: () => timers.size,
    async advance(ms: number) {
      const end = now + ms;
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const e of timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
        if (!next) break;
        timers.delete(next[0]);
        now = Math.max(now, next[1].at);
        next[1].fn();
        await new Promise(r => setImmediate(r));
      }
      now = end;
      await new Promise(r => setImmediate(r));
    },
  };
  return c;
}

test('notifier: 1,000 parked waits with different deadlines share one timer (a wheel), and each ends at its deadline', async t => {
  const clock = manualClock();
  const n = new Notifier({ clock });
  const ended: number[] = new Array(1000).fill(0);
  const all = Array.from({ length: 1000 }, (_, i) => n.wait(['svc:web'], [], 1000 + i * 7, undefined).then(() => { ended[i] = clock.now(); }));
  t.is(n.waiting, 1000);
  t.is(clock.live(), 1, 'one timer for every parked wait');
  await clock.advance(1000 + 999 * 7 + TICK_MS);
  await Promise.all(all);
  t.is(n.waiting, 0);
  t.is(n.wheelBuckets, 0);
  t.is(clock.live(), 0, 'no timer left once nobody waits');
  for (let i = 0; i < 1000; i++) {
    const deadline = 1_000_000 + 1000 + i * 7;
    t.true(ended[i]! >= deadline && ended[i]! < deadline + TICK_MS, `wait ${i} ended at +${ended[i]! - deadline} ms`);
  }
  t.true(clock.armed < 200, `timer armed ${clock.armed} times for 1000 waits`);
});

test('notifier: a fire wakes only the waiters of its topic and unparks them completely; abort releases one', async t => {
  const clock = manualClock();
  const n = new Notifier({ clock });
  const woke: string[] = [];
  const ac = new AbortController();
  const a = n.wait(['svc:a'], [], 60_000).then(() => woke.push('a'));
  const b = n.wait(['svc:b', 'node:x'], [], 60_000).then(() => woke.push('b'));
  const c = n.wait(['svc:a'], [], 60_000, ac.signal).then(() => woke.push('c'));
  const d = n.wait([], ['app/'], 60_000).then(() => woke.push('d'));
  ac.abort();
  await c;
  t.deepEqual(woke, ['c']);
  n.fire('svc:a');
  await a;
  t.deepEqual(woke, ['c', 'a']);
  t.is(n.waiting, 2);
  n.fireKey('app/x');
  await d;
  n.fire('node:x');
  await b;
  t.deepEqual(woke, ['c', 'a', 'd', 'b']);
  t.is(n.waiting, 0);
  await clock.advance(61_000);
  t.is(clock.live(), 0);
  t.is(n.wheelBuckets, 0);
});

function ctxFor(url: string, signal = new AbortController().signal): Ctx {
  const u = new URL(url, 'http://x');
  return { path: u.pathname, query: u.searchParams, has: (k: string) => u.searchParams.has(k), signal, enterBlocking: () => {} } as unknown as Ctx;
}

test('sharedBlocking: 500 watchers woken by one change render the body once and share the same bytes', async t => {
  const clock = manualClock();
  const n = new Notifier({ clock });
  let index = 10;
  let renders = 0;
  const spec = { topics: ['svc:web'], index: () => index, render: () => { renders++; return [{ Index: index }]; } };
  const first = await sharedBlocking(ctxFor('/v1/health/service/web'), n, spec);
  t.is(first.index, 10);
  t.is(renders, 1);
  const watchers = Array.from({ length: 500 }, () => sharedBlocking(ctxFor('/v1/health/service/web?index=10&wait=5m'), n, spec));
  await new Promise(r => setImmediate(r));
  t.is(n.waiting, 500);
  t.is(renders, 1, 'parked watchers render nothing');
  index = 11;
  n.fire('svc:web');
  const got = await Promise.all(watchers);
  t.is(renders, 2, 'one render for the change, shared by 500 watchers');
  for (const g of got) { t.is(g.index, 11); t.is(g.body, got[0]!.body); }
  t.is(got[0]!.body.toString(), '[{"Index":11}]');
});

test('sharedBlocking: a fire drops the shared body even when the index stays; ?pretty and other queries render apart', async t => {
  const n = new Notifier({ clock: manualClock() });
  let data = 'a';
  const spec = { topics: ['svc:web'], index: () => 5, render: () => ({ D: data }) };
  t.is((await sharedBlocking(ctxFor('/v1/x'), n, spec)).body.toString(), '{"D":"a"}');
  data = 'b';
  t.is((await sharedBlocking(ctxFor('/v1/x'), n, spec)).body.toString(), '{"D":"a"}', 'cached until its topic fires');
  n.fire('svc:other');
  t.is((await sharedBlocking(ctxFor('/v1/x'), n, spec)).body.toString(), '{"D":"a"}');
  n.fire('svc:web');
  t.is((await sharedBlocking(ctxFor('/v1/x'), n, spec)).body.toString(), '{"D":"b"}');
  t.is((await sharedBlocking(ctxFor('/v1/x?pretty'), n, spec)).body.toString(), '{\n    "D": "b"\n}\n');
  t.is(renderKey(ctxFor('/v1/x?tag=a%00tag%3Db')) === renderKey(ctxFor('/v1/x?tag=a&tag=b')), false);
  t.is(renderKey(ctxFor('/v1/x?tag=a&index=3&wait=1s')), renderKey(ctxFor('/v1/x?tag=a')));
});

test('sharedBlocking: a watch whose wait ends without a change answers the current body at its deadline', async t => {
  const clock = manualClock();
  const n = new Notifier({ clock });
  const spec = { topics: ['svc:web'], index: () => 7, render: () => [] };
  let done = false;
  const p = sharedBlocking(ctxFor('/v1/x?index=7&wait=2s'), n, spec).then(r => { done = true; return r; });
  await clock.advance(1999);
  t.false(done);
  await clock.advance(2000 / 16 + TICK_MS + 1);
  const r = await p;
  t.is(r.index, 7);
  t.is(n.waiting, 0);
});

test('render cache: bounded by entries and bytes; invalidation forgets the topic index', t => {
  const c = new RenderCache({ maxEntries: 3, maxBytes: 10 });
  for (let i = 0; i < 5; i++) c.get(`k${i}`, 1, [`t${i}`], () => Buffer.from('ab'));
  t.is(c.size, 3);
  t.is(c.bytes, 6);
  c.get('big', 1, ['t'], () => Buffer.from('0123456789ab'));
  t.is(c.size, 3, 'a body over maxBytes is not kept');
  c.get('k9', 1, ['t9'], () => Buffer.from('012345'));
  t.true(c.bytes <= 10);
  const before = c.size;
  c.invalidate('t9');
  t.is(c.size, before - 1);
  let renders = 0;
  c.get('k9', 1, ['t9'], () => { renders++; return Buffer.from('x'); });
  t.is(renders, 1);
});

test('blocking: a parked query keeps only its index, not the data it last computed (the data is collectable while it waits)', async t => {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const n = new Notifier({ clock: manualClock() });
  let last: WeakRef<object> | null = null;
  let index = 5;
  const run = () => { const data = { big: new Array(10_000).fill('x') }; last = new WeakRef(data); return { index, data }; };
  const p = blocking(ctxFor('/v1/x?index=5&wait=1m'), n, { topics: ['svc:web'] }, run);
  await new Promise(r => setImmediate(r));
  t.is(n.waiting, 1);
  for (let i = 0; i < 3; i++) { gc(); await new Promise(r => setImmediate(r)); }
  t.is(last!.deref(), undefined, 'the parked query still holds its last result');
  index = 6;
  n.fire('svc:web');
  const r = await p;
  t.is(r.index, 6);
  t.is(r.data.big.length, 10_000);
});

test('notifier: fireAllPrefixed wakes every waiter and drops every render on the named kinds of topic, and nothing else', async t => {
  const clock = manualClock();
  const n = new Notifier({ clock });
  const woke: string[] = [];
  const waits = ['svc:web', 'node:a', 'kv:x', 'table:nodes'].map(tp => n.wait([tp], [], 60_000, undefined).then(() => { woke.push(tp); }));
  const buf = Buffer.from('x');
  for (const tp of ['svc:db', 'node:b', 'kv:y']) n.renders.get(tp, 1, [tp], () => buf);
  n.fireAllPrefixed(['svc:', 'node:']);
  await new Promise(r => setImmediate(r));
  t.deepEqual(woke.sort(), ['node:a', 'svc:web']);
  t.is(n.waiting, 2, 'kv and table waiters stay parked');
  t.is(n.renders.size, 1, 'only the kv render is kept');
  n.fire('kv:x'); n.fire('table:nodes');
  await Promise.all(waits);
});
