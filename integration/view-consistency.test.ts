/**
 * The view never goes back in time (issue 19 §1), with a real redis-server and the real syncer.
 *
 * The races are forced, not hoped for: a CatalogStore whose full load can be held at a gate (after
 * its head read, or after it has read every node) lets a write land and be applied from its change
 * event before the older snapshot is installed, which is exactly what a slow resync on a big
 * catalog does under concurrent writes.
 */
import test from 'ava';
import { Redis } from 'ioredis';
import { testRedis } from './helpers/redis.ts';
import { until } from './helpers/wait.ts';
import { CatalogStore, type CatalogSnapshot } from '../src/store/catalog-store.ts';
import { keysFor } from '../src/store/keys.ts';
import { CatalogView } from '../src/catalog/view.ts';
import type { NodeState } from '../src/catalog/model.ts';
import { CatalogSyncer } from '../src/catalog/syncer.ts';
import type { CheckBody } from '../src/store/codec.ts';

/**
 * A store whose loadAll can be held once it has read everything: with `atEnd` the syncer has
 * already learnt the head (the revision the snapshot covers); with `atHead` it learns the head only
 * when the gate opens, as when the head's reply is slower than the events published after it.
 */
class GatedStore extends CatalogStore {
  loads = 0;
  atHead: Promise<void> | null = null;
  atEnd: Promise<void> | null = null;
  /** Holds the next revision check (one-shot) until it opens; `checked` resolves once that check's reply is handed back. */
  atCheck: Promise<void> | null = null;
  checked: Promise<void> | null = null;
  heads = 0;
  override async revisionAndEpoch(): Promise<{ crev: number; epoch: number }> {
    const g = this.atCheck;
    this.atCheck = null;
    if (!g) return super.revisionAndEpoch();
    let done!: () => void;
    this.checked = new Promise(r => { done = r; });
    const head = await super.revisionAndEpoch();
    this.reached?.();
    await g;
    setImmediate(done);
    return head;
  }
  override streamHead(): ReturnType<CatalogStore['streamHead']> { this.heads++; return super.streamHead(); }
  /** Resolves when a held load has reached its gate. */
  reached: (() => void) | null = null;
  override async loadAll(onHead?: Parameters<CatalogStore['loadAll']>[0], slices?: Parameters<CatalogStore['loadAll']>[1], onBatch?: Parameters<CatalogStore['loadAll']>[2]): Promise<CatalogSnapshot> {
    this.loads++;
    const headGate = this.atHead, endGate = this.atEnd;
    type Head = Parameters<NonNullable<typeof onHead>>;
    let head: Head | null = null;
    // A reload that merges as it reads hands its batches on only once the gates open, so that they are
    // applied after whatever the test did meanwhile (as an older snapshot arriving late would be).
    const held: [NodeState[], number][] = [];
    const snap = await super.loadAll((...h: Head) => { if (headGate) head = h; else onHead?.(...h); }, slices, onBatch && ((s, at) => { held.push([s, at]); }));
    if (headGate) { this.reached?.(); await headGate; onHead?.(...head!); }
    if (endGate) { this.reached?.(); await endGate; }
    for (const [s, at] of held) await onBatch!(s, at);
    return snap;
  }
}

const nodeBody = (name: string) => ({ ID: '', Node: name, Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} });
const svc = (id: string, name = 'web', port = 80) => ({ ID: id, Service: name, Tags: [], Address: '', Meta: {}, Port: port, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false });
const chk = (node: string, id: string, sid: string): CheckBody => ({ Node: node, CheckID: id, Name: id, Notes: '', ServiceID: sid, ServiceName: sid ? 'web' : '', ServiceTags: [], Type: 'ttl', Interval: '', Timeout: '', ExposedPort: 0, Definition: { TTL: '1m' } });

function gate(): { p: Promise<void>; open: () => void } {
  let open!: () => void;
  const p = new Promise<void>(r => { open = r; });
  return { p, open };
}

async function setup(t: { teardown(fn: () => unknown): void }) {
  const r = await testRedis();
  const redis = new Redis(r.url);
  const store = new GatedStore(redis, keysFor('dc1'));
  const view = new CatalogView();
  const syncer = new CatalogSyncer(store, view, { resyncIntervalMs: 3_600_000 });
  t.teardown(async () => { await syncer.stop(); redis.disconnect(); await r.stop(); });
  // A catalog with a few nodes, so a snapshot has several to read.
  for (let i = 0; i < 20; i++) await store.register({ nodeName: `n${i}`, node: nodeBody(`n${i}`), services: [svc(`w${i}`)], checks: [{ check: chk(`n${i}`, `c${i}`, `w${i}`), status: 'passing', output: '', keep: false, ttlMs: 0 }] });
  await syncer.start();
  return { store, view, syncer };
}

/** Starts a resync and waits until its load is held at the gate that `arm` set. */
async function heldResync(store: GatedStore, syncer: CatalogSyncer): Promise<{ done: Promise<void> }> {
  const reached = new Promise<void>(r => { store.reached = r; });
  const done = syncer.resync('test');
  await reached;
  return { done }; // wrapped: an async function would otherwise wait for the held resync itself
}

test('view: a registration applied while an older snapshot is in flight survives the snapshot', async t => {
  const { store, view, syncer } = await setup(t);
  const g = gate();
  store.atEnd = g.p;
  const { done: resync } = await heldResync(store, syncer); // the snapshot has read every node: it predates what follows
  store.atEnd = null;
  // A new node, a new service on an existing node, and a check flip, each acknowledged and applied.
  const a = await store.register({ nodeName: 'late', node: nodeBody('late'), services: [svc('late1', 'api')], checks: [] });
  const b = await store.register({ nodeName: 'n1', node: null, services: [svc('extra', 'api')], checks: [] });
  const c = await store.updateCheck('n2', 'c2', 'critical', 'down');
  t.true(await syncer.waitFor(Math.max(a.index, b.index, c.index), 5000));
  t.is(view.instances('api').length, 2);
  t.is(view.node('n2')!.checks.get('c2')!.Status, 'critical');
  g.open();
  await resync;
  t.deepEqual(view.instances('api').map(i => i.service.ID).sort(), ['extra', 'late1'], 'the older snapshot must not remove newer registrations');
  t.is(view.node('n2')!.checks.get('c2')!.Status, 'critical', 'the older snapshot must not roll back a check');
  // And the next, fresh resync agrees.
  await syncer.resync('again');
  t.is(view.instances('api').length, 2);
});

test('view: an authoritative reload keeps what was applied from the log while its snapshot was being read', async t => {
  // The CI failure of 2026-12-02: a reset recorded the nodes re-read from the log only once the snapshot had been
  // read, so a registration applied from the log between the snapshot's read and the swap vanished at the swap.
  const { store, view, syncer } = await setup(t);
  await store.redis.incr(store.keys.epoch); // the epoch moved (as after a restore): the next reload is authoritative
  const g = gate();
  store.atEnd = g.p;
  const { done: resync } = await heldResync(store, syncer);
  store.atEnd = null;
  const a = await store.register({ nodeName: 'n1', node: null, services: [svc('extra', 'api')], checks: [] });
  const b = await store.register({ nodeName: 'late', node: nodeBody('late'), services: [svc('late1', 'api')], checks: [] });
  t.true(await syncer.waitFor(Math.max(a.index, b.index), 5000));
  t.is(view.instances('api').length, 2, 'served from the log at once');
  g.open();
  await resync;
  t.false(view.resetting);
  t.deepEqual(view.instances('api').map(i => i.service.ID).sort(), ['extra', 'late1'], 'the swap must keep what the log brought after the snapshot was read');
  t.is(view.instances('web').length, 20);
});

test('view: a deregistration applied while an older snapshot is in flight is not undone by it', async t => {
  const { store, view, syncer } = await setup(t);
  const g = gate();
  store.atEnd = g.p;
  const { done: resync } = await heldResync(store, syncer);
  store.atEnd = null;
  const a = await store.deregister('n3', 'node');
  const b = await store.deregister('n4', 'service', 'w4');
  const c = await store.deregister('n5', 'check', 'c5');
  t.true(await syncer.waitFor(Math.max(a.index, b.index, c.index), 5000));
  t.is(view.node('n3'), undefined);
  g.open();
  await resync;
  t.is(view.node('n3'), undefined, 'a deleted node must not come back from an older snapshot');
  t.false(view.node('n4')!.services.has('w4'), 'a deleted service must not come back');
  t.false(view.node('n5')!.checks.has('c5'), 'a deleted check must not come back');
  t.false(view.instances('web').some(i => i.service.ID === 'w3' || i.service.ID === 'w4'));
  // A later re-registration of the same names (a new incarnation) is taken.
  const d = await store.register({ nodeName: 'n3', node: nodeBody('n3'), services: [svc('w3')], checks: [] });
  t.true(await syncer.waitFor(d.index, 5000));
  t.truthy(view.node('n3'));
});

test('view: indexes never move backwards, and events during a resync do not set off another', async t => {
  const { store, view, syncer } = await setup(t);
  const g = gate();
  store.atHead = g.p; // the snapshot is read, but the syncer learns the revision it covers only after the writes' events
  const loadsBefore = store.loads;
  const { done: resync } = await heldResync(store, syncer);
  store.atHead = null;
  let last = 0;
  for (let i = 0; i < 30; i++) last = (await store.updateCheck(`n${i % 20}`, `c${i % 20}`, i % 2 ? 'passing' : 'critical', `o${i}`)).index;
  t.true(await syncer.waitFor(last, 5000));
  const svcIdx = view.serviceIndex.get('web')!;
  const checksIdx = view.tableIndex.checks!;
  t.is(checksIdx, last);
  g.open();
  await resync;
  t.is(view.serviceIndex.get('web'), svcIdx, 'the snapshot (read earlier) must not lower a service index');
  t.is(view.tableIndex.checks, checksIdx, 'nor a table index');
  // More writes after the resync: they follow on from the revision the view already has.
  let after = 0;
  for (let i = 0; i < 10; i++) after = (await store.updateCheck('n0', 'c0', i % 2 ? 'passing' : 'critical', `p${i}`)).index;
  t.true(await syncer.waitFor(after, 5000));
  t.is(store.loads - loadsBefore, 1, 'exactly the one forced resync: events published during it were not taken for a gap');
});

test('view: a revision really skipped (a lost event) still sets off a resync', async t => {
  const { store, view, syncer } = await setup(t);
  const loadsBefore = store.loads;
  // Append an entry that skips revisions, as a change log trimmed while the reader was away looks.
  const crev = Number(await store.redis.get(store.keys.crev));
  await store.redis.incrby(store.keys.crev, 5);
  const idx = await store.redis.incr(store.keys.index);
  await store.redis.xadd(store.keys.stream, '*', 'e', JSON.stringify({ i: idx, r: crev + 6, n: [], s: [], t: '', d: [] }));
  await until('a resync', async () => store.loads > loadsBefore);
  t.true(await syncer.waitFor(idx, 5000));
  t.true(view.appliedIndex >= idx);
});

test('view: a revision check answered before entries the reader then applies is not "Redis went back"', async t => {
  // The other half of the CI failure: the safety net compared a revision read before the reader moved on with
  // where the reader was after, took Redis for having gone back, and forced an authoritative reload.
  const r = await testRedis();
  const redis = new Redis(r.url);
  const store = new GatedStore(redis, keysFor('dc1'));
  const view = new CatalogView();
  const syncer = new CatalogSyncer(store, view, { resyncIntervalMs: 20 });
  t.teardown(async () => { await syncer.stop(); redis.disconnect(); await r.stop(); });
  await store.register({ nodeName: 'n0', node: nodeBody('n0'), services: [svc('w0')], checks: [] });
  await syncer.start();
  const g = gate();
  const reached = new Promise<void>(res => { store.reached = res; });
  store.atCheck = g.p;
  await reached; // a periodic check has read Redis's revision and is held before comparing it
  let last = 0;
  for (let i = 0; i < 5; i++) last = (await store.register({ nodeName: 'n0', node: null, services: [svc(`x${i}`, 'api')], checks: [] })).index;
  t.true(await syncer.waitFor(last, 5000)); // the reader has gone past the revision the held check read
  const heads = store.heads;
  g.open();
  await store.checked;
  t.is(store.heads, heads, 'no reload: the check read Redis before the reader moved on, Redis did not go back');
  t.is(view.instances('api').length, 5);
});
