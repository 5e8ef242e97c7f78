import test from 'ava';
import { CatalogView, type ViewChange } from '../../src/catalog/view.ts';
import type { NodeState, ServiceRec } from '../../src/catalog/model.ts';
import { runSliced, runSteps } from '../../src/util/slices.ts';

const node = (name: string, c: number) => ({ ID: `id-${name}`, Node: name, Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {}, CreateIndex: c, ModifyIndex: c });
const svc = (id: string, c: number, name = 'web'): ServiceRec => ({ ID: id, Service: name, Tags: [], Address: '', Meta: {}, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: c, ModifyIndex: c });
const st = (name: string, c: number, services: ServiceRec[]): NodeState => ({ node: node(name, c), services: new Map(services.map(s => [s.ID, s])), checks: new Map() });

/** A catalog of n nodes, each with one `web` and one `db<i%7>` instance, all at index c. */
const world = (n: number, c: number, prefix = 'n'): NodeState[] =>
  Array.from({ length: n }, (_, i) => st(`${prefix}${i}`, c, [svc(`w${i}`, c), svc(`d${i}`, c, `db${i % 7}`)]));

/** Everything a read can see of a view, in a comparable form. */
function dump(v: CatalogView): unknown {
  const svcs = [...v.serviceNames()].sort().map(s => [s, v.instances(s).map(i => `${i.node.Node}/${i.service.ID}@${i.service.ModifyIndex}`)]);
  return { nodes: [...v.nodes()].map(n => n.node.Node).sort(), svcs, appliedIndex: v.appliedIndex, tables: v.tableIndex, serviceIndex: [...v.serviceIndex].sort() };
}

/** A fake clock: every read advances it by `tick` ms, so slices end after budget/tick reads whatever the machine does. */
const fakeClock = (tick: number) => { let t = 0; return () => (t += tick); };

test('slices: runSliced covers every item once, in order, and yields once per slice by the clock', async t => {
  const seen: number[] = [];
  let turns = 0;
  const slices = await runSliced(1000, (a, b) => { for (let i = a; i < b; i++) seen.push(i); }, { budgetMs: 2, step: 10, now: fakeClock(1), yieldTurn: async () => { turns++; } });
  t.deepEqual(seen, Array.from({ length: 1000 }, (_, i) => i));
  // Clock reads: one at a slice's start, one per step; 1 ms each, budget 2 ms → 2 steps (20 items) per slice.
  t.is(slices, 50);
  t.is(turns, 49, 'no turn given after the last slice');
});

test('view: a sliced reset (beginReset, stageStates in slices, commitReset) ends equal to resetAll', async t => {
  const old = world(300, 3, 'old');
  const fresh = world(500, 2);
  const a = new CatalogView();
  a.replaceAll(old, 9);
  a.resetAll(fresh, 10);
  const b = new CatalogView();
  b.replaceAll(old, 9);
  const changes: ViewChange[] = [];
  b.on('change', c => changes.push(c));
  b.beginReset();
  let turns = 0;
  await runSliced(fresh.length, (x, y) => b.stageStates(fresh.slice(x, y)), { budgetMs: 2, step: 16, now: fakeClock(1), yieldTurn: async () => {
    turns++;
    t.is(b.instances('web').length, 300, 'reads see the old view until the swap');
  } });
  t.true(turns > 5);
  t.deepEqual(changes, [], 'nothing is emitted before the swap');
  b.commitReset(10);
  t.deepEqual(dump(b), dump(a));
  t.is(changes.length, 1, 'the swap emits one change');
  t.true(changes[0]!.all);
  t.is(changes[0]!.nodes.size, 800, 'every node that was or is in the view');
  t.deepEqual([...changes[0]!.services].sort(), ['db0', 'db1', 'db2', 'db3', 'db4', 'db5', 'db6', 'web']);
});

test('view: a node put during a sliced reset is served at once and survives the swap; patchNode defers to putNode', t => {
  const v = new CatalogView();
  v.replaceAll(world(10, 3), 9);
  v.beginReset();
  v.stageStates(world(5, 2));
  t.is(v.patchNode('n1', new Map(), new Map(), 11), null, 'during a reset the caller reads the node whole');
  v.putNode('late', st('late', 11, [svc('x1', 11, 'probe')]), 11);
  t.is(v.instances('probe').length, 1, 'the old view serves the new node at once');
  v.putNode('n2', null, 12); // deleted after the snapshot was read
  v.stageStates(world(10, 2).slice(5));
  v.commitReset(10);
  t.is(v.instances('probe').length, 1, 'a put made during the reset is applied after the swap');
  t.is(v.node('n2'), undefined, 'a delete made during the reset is applied after the swap');
  t.is(v.instances('web').length, 9);
  t.is(v.appliedIndex, 12);
  t.is(v.serviceIndex.get('probe'), 11);
  t.false(v.resetting);
});

test('view: a merged reload in slices (mergeSlice, then dropUnseen a few nodes at a time) ends equal to replaceAll', async t => {
  const before = world(400, 3);
  // The snapshot: nodes 0..299 only (100 gone), every third one re-registered later.
  const snap = world(300, 3).map((s, i) => (i % 3 ? s : st(s.node.Node, 8, [svc(`w${i}`, 8), svc(`x${i}`, 8, 'extra')])));
  const a = new CatalogView();
  a.replaceAll(before, 5);
  a.replaceAll(snap, 9);
  const b = new CatalogView();
  b.replaceAll(before, 5);
  const seen = new Set<string>();
  const opts = { budgetMs: 2, step: 16, now: fakeClock(1), yieldTurn: async () => {} };
  await runSliced(snap.length, (x, y) => b.mergeSlice(snap.slice(x, y), 9, undefined, seen), opts);
  const keys = b.nodeKeys();
  let calls = 0;
  await runSteps(() => { calls++; return b.dropUnseen(keys, seen, 9, 7); }, opts);
  b.pruneAfterSlices(9);
  t.true(calls > 10, 'the nodes the snapshot lacked are dropped a few at a time');
  t.deepEqual(dump(b), dump(a));
  t.is(b.instances('web').length, 300, 'the 100 nodes the snapshot lacked are gone');
  t.is(b.instances('extra').length, 100);
});
