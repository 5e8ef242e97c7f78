import test from 'ava';
import { CatalogView, type ViewChange } from '../../src/catalog/view.ts';
import { aggregateStatus, isVisible, type CheckRec, type HealthStatus, type Instance, type NodeState, type ServiceRec } from '../../src/catalog/model.ts';

const node = (name: string, addr = '10.0.0.1') => ({ ID: `id-${name}`, Node: name, Address: addr, Datacenter: 'dc1', TaggedAddresses: {}, Meta: {}, CreateIndex: 1, ModifyIndex: 1 });
const svc = (id: string, name = 'web'): ServiceRec => ({ ID: id, Service: name, Tags: [], Address: '', Meta: {}, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: 1, ModifyIndex: 1 });
const chk = (nodeName: string, id: string, status: HealthStatus, serviceId = ''): CheckRec => ({ Node: nodeName, CheckID: id, Name: id, Status: status, Notes: '', Output: '', ServiceID: serviceId, ServiceName: serviceId ? 'web' : '', ServiceTags: [], Type: 'ttl', Interval: '', Timeout: '', ExposedPort: 0, Definition: {}, CreateIndex: 1, ModifyIndex: 1 });
function state(name: string, services: ServiceRec[], checks: CheckRec[] = []): NodeState {
  return { node: node(name), services: new Map(services.map(s => [s.ID, s])), checks: new Map(checks.map(c => [c.CheckID, c])) };
}

test('view: instances are indexed by case-insensitive service name and sorted by node then ID', t => {
  const v = new CatalogView();
  v.replaceAll([state('b', [svc('w2'), svc('w1')]), state('a', [svc('w3', 'Web')])], 5);
  t.deepEqual(v.instances('WEB').map(i => `${i.node.Node}/${i.service.ID}`), ['a/w3', 'b/w1', 'b/w2']);
  t.is(v.appliedIndex, 5);
});

test('view: an instance carries its own checks plus its node checks, not other services\' checks', t => {
  const v = new CatalogView();
  v.replaceAll([state('a', [svc('w1'), svc('w2')], [chk('a', 'c1', 'passing', 'w1'), chk('a', 'c2', 'critical', 'w2'), chk('a', 'serfHealth', 'passing')])], 1);
  const w1 = v.instances('web').find(i => i.service.ID === 'w1')!;
  t.deepEqual(w1.checks.map(c => c.CheckID).sort(), ['c1', 'serfHealth']);
});

test('view: putNode replaces one node, reports the services it touched, and removal drops instances', t => {
  const v = new CatalogView();
  v.replaceAll([state('a', [svc('w1')]), state('b', [svc('d1', 'db')])], 1);
  const changes: ViewChange[] = [];
  v.on('change', c => changes.push(c));
  v.putNode('A', state('a', [svc('x1', 'api')]), 2);
  t.deepEqual([...changes[0]!.services].sort(), ['api', 'web']);
  t.is(v.instances('web').length, 0);
  t.is(v.instances('api').length, 1);
  v.putNode('b', null, 3);
  t.is(v.instances('db').length, 0);
  t.is(v.node('B'), undefined);
  t.is(v.appliedIndex, 3);
});

const inst = (...statuses: HealthStatus[]): Instance => ({ node: node('a'), service: svc('w1'), checks: statuses.map((s, i) => chk('a', `c${i}`, s, 'w1')) });
for (const [statuses, visible, visiblePassingOnly, agg] of [
  [[], true, true, 'passing'],
  [['passing'], true, true, 'passing'],
  [['passing', 'warning'], true, false, 'warning'],
  [['warning', 'critical'], false, false, 'critical'],
  [['critical'], false, false, 'critical'],
] as [HealthStatus[], boolean, boolean, HealthStatus][]) {
  test(`health filter: checks [${statuses.join(',')}] → visible=${visible}, only_passing=${visiblePassingOnly}, aggregate=${agg}`, t => {
    t.is(isVisible(inst(...statuses), false), visible);
    t.is(isVisible(inst(...statuses), true), visiblePassingOnly);
    t.is(aggregateStatus(inst(...statuses).checks), agg);
  });
}

test('view: patchNode rebuilds only touched instances; a node check change rebuilds every instance on the node', t => {
  const v = new CatalogView();
  v.replaceAll([state('a', [svc('w1'), svc('d1', 'db')], [chk('a', 'c1', 'passing', 'w1'), chk('a', 'serfHealth', 'passing')])], 1);
  const changes: ViewChange[] = [];
  v.on('change', c => changes.push(c));
  v.patchNode('a', new Map(), new Map([['c1', chk('a', 'c1', 'critical', 'w1')]]), 2);
  t.deepEqual([...changes[0]!.services], ['web']);
  t.false(isVisible(v.instances('web')[0]!, false));
  t.true(isVisible(v.instances('db')[0]!, false));
  v.patchNode('a', new Map(), new Map([['serfHealth', chk('a', 'serfHealth', 'critical')]]), 3);
  t.deepEqual([...changes[1]!.services].sort(), ['db', 'web']);
  t.false(isVisible(v.instances('db')[0]!, false));
  // Removing a service with its check; adding another with a renamed service.
  v.patchNode('a', new Map([['w1', null], ['d1', svc('d1', 'cache')]]), new Map([['c1', null]]), 4);
  t.is(v.instances('web').length, 0);
  t.is(v.instances('db').length, 0);
  t.deepEqual(v.instances('cache')[0]!.checks.map(c => c.CheckID), ['serfHealth']);
  t.is(v.node('a')!.checks.has('c1'), false);
  t.is(v.appliedIndex, 4);
  t.is(v.patchNode('zz', new Map(), new Map()), null);
});

test('view: a resync (replaceAll) names only what differs from the view it replaces', t => {
  const world = (o: { webCheck?: number; nodeCheck?: number; dbPort?: number; withC?: boolean } = {}) => [
    state('a', [svc('w1'), svc('d1', 'db')], [
      { ...chk('a', 'c1', 'passing', 'w1'), ModifyIndex: o.webCheck ?? 1 },
      { ...chk('a', 'serfHealth', 'passing'), ModifyIndex: o.nodeCheck ?? 1 },
    ]),
    state('b', [{ ...svc('d2', 'db'), ModifyIndex: o.dbPort ?? 1 }, svc('x1', 'cache')]),
    ...(o.withC === false ? [] : [state('c', [svc('q1', 'queue')])]),
  ];
  const v = new CatalogView();
  const seen: ViewChange[] = [];
  v.on('change', c => seen.push(c));
  v.replaceAll(world(), 1);
  t.true(seen[0]!.all, 'the first load is everything');
  v.replaceAll(world(), 2);
  t.is(seen.length, 1, 'an identical catalog (new objects, same indexes) changes nothing');
  v.replaceAll(world({ webCheck: 5 }), 5);
  t.deepEqual(seen.at(-1), { all: false, services: new Set(['web']), nodes: new Set(['a']) });
  v.replaceAll(world({ webCheck: 5, dbPort: 6 }), 6);
  t.deepEqual(seen.at(-1), { all: false, services: new Set(['db']), nodes: new Set(['b']) });
  v.replaceAll(world({ webCheck: 5, dbPort: 6, nodeCheck: 7 }), 7);
  t.deepEqual(seen.at(-1), { all: false, services: new Set(['web', 'db']), nodes: new Set(['a']) }, 'a node check touches every instance on the node');
  v.replaceAll(world({ webCheck: 5, dbPort: 6, nodeCheck: 7, withC: false }), 8);
  t.deepEqual(seen.at(-1), { all: false, services: new Set(['queue']), nodes: new Set(['c']) });
  t.deepEqual(v.instances('queue'), []);
  t.is(v.instances('web')[0]!.checks.find(c => c.CheckID === 'c1')!.ModifyIndex, 5);
  t.is(seen.length, 5);
});

test('view: resetAll replaces everything authoritatively (older records win over the view\'s newer ones, tombstones cleared) and moves indexes forward only', t => {
  const v = new CatalogView();
  const at = (s: NodeState, i: number): NodeState => ({ node: { ...s.node, CreateIndex: i, ModifyIndex: i }, services: new Map([...s.services].map(([k, r]) => [k, { ...r, CreateIndex: i, ModifyIndex: i }])), checks: s.checks });
  v.replaceAll([at(state('a', [svc('w1')]), 40), at(state('b', [svc('d1', 'db')]), 41), at(state('c', [svc('c1', 'cache')]), 42)], 50);
  v.putNode('c', null, 60); // leaves a tombstone for c at 60
  v.tableIndex = { nodes: 60, services: 60, checks: 60 };
  // What a restored snapshot taken at index 30 holds: older incarnations of a and c, no b.
  const restored = [at(state('a', [svc('w0')]), 10), at(state('c', [svc('c1', 'cache')]), 12)];
  v.replaceAll(restored, 61); // the index merge keeps the view's newer records: why resetAll exists
  t.deepEqual(v.instances('web').map(i => i.service.ID), ['w1']);
  t.is(v.node('c'), undefined); // the tombstone stops the restored incarnation of c
  t.is(v.node('b'), undefined); // b was registered before index 61 and is missing: dropped
  const changes: ViewChange[] = [];
  v.on('change', c => changes.push(c));
  v.resetAll(restored, 61);
  t.deepEqual(v.instances('web').map(i => i.service.ID), ['w0']);
  t.is(v.instances('db').length, 0);
  t.is(v.node('b'), undefined);
  t.deepEqual(v.instances('cache').map(i => i.node.Node), ['c']);
  t.is(changes.length, 1);
  t.true(changes[0]!.all);
  t.deepEqual([...changes[0]!.services].sort(), ['cache', 'web']);
  t.deepEqual([...changes[0]!.nodes].sort(), ['a', 'c']);
  t.deepEqual(v.tableIndex, { nodes: 61, services: 61, checks: 61 });
  for (const s of ['web', 'cache']) t.is(v.serviceIndex.get(s), 61);
  t.is(v.appliedIndex, 61);
  // Later reads merge normally again: a write after the restore replaces the restored record.
  v.putNode('a', at(state('a', [svc('w9')]), 62), 62);
  t.deepEqual(v.instances('web').map(i => i.service.ID), ['w9']);
});

test('view: a snapshot merged in slices ends as replaceAll would; a node absent from it goes only at the end', t => {
  const at = (st: NodeState, i: number): NodeState => ({ node: { ...st.node, CreateIndex: i, ModifyIndex: i }, services: new Map([...st.services].map(([k, s]) => [k, { ...s, CreateIndex: i, ModifyIndex: i }])), checks: st.checks });
  const base = [at(state('a', [svc('a1')]), 1), at(state('b', [svc('b1')]), 1), at(state('gone', [svc('g1')]), 1)];
  const snap = [at(state('a', [svc('a1'), svc('a2')]), 5), at(state('b', [svc('b1', 'db')]), 6), at(state('c', [svc('c1')]), 7)];
  const whole = new CatalogView();
  whole.replaceAll(base, 1);
  whole.replaceAll(snap, 10);
  const sliced = new CatalogView();
  sliced.replaceAll(base, 1);
  const seen = new Set<string>();
  sliced.mergeSlice(snap.slice(0, 2), 10, undefined, seen);
  t.truthy(sliced.node('gone'), 'a node the snapshot lacks stays until the last slice is in');
  t.is(sliced.instances('web').length, 3, 'between slices: a (2) and gone (1); c is not merged yet');
  sliced.mergeSlice(snap.slice(2), 10, undefined, seen);
  sliced.finishSlices(seen, 10);
  const shape = (v: CatalogView) => [...v.nodes()].map(st => `${st.node.Node}:${[...st.services.keys()].join(',')}`).sort();
  t.deepEqual(shape(sliced), shape(whole));
  t.deepEqual(shape(sliced), ['a:a1,a2', 'b:b1', 'c:c1']);
  t.is(sliced.appliedIndex, 10);
});

test('view: resetAll replaces everything, older records included (the revision stays), and names every service touched', t => {
  const v = new CatalogView();
  const newer = state('a', [{ ...svc('w1'), CreateIndex: 1, ModifyIndex: 9 }]);
  v.replaceAll([newer, state('b', [svc('d1', 'db')])], 9);
  const changes: ViewChange[] = [];
  v.on('change', c => changes.push(c));
  const older = state('a', [{ ...svc('w1'), Port: 1, CreateIndex: 1, ModifyIndex: 2 }]);
  v.replaceAll([older, state('b', [svc('d1', 'db')])], 3);
  t.is(v.node('a')!.services.get('w1')!.Port, 80, 'an index merge keeps the newer record');
  v.resetAll([older], 3);
  t.is(v.node('a')!.services.get('w1')!.Port, 1, 'resetAll takes the older one');
  t.is(v.node('b'), undefined);
  t.is(v.appliedIndex, 9, 'the revision (SOA serial source, blocking indexes) never goes back');
  const last = changes.at(-1)!;
  t.true(last.all);
  t.deepEqual([...last.services].sort(), ['db', 'web']);
});
