import test from 'ava';
import { CatalogView } from '../../src/catalog/view.ts';
import { mergeNode, mergeRecord, newTombs, pruneTombs, type NodeTombs } from '../../src/catalog/merge.ts';
import type { CheckRec, HealthStatus, NodeState, ServiceRec } from '../../src/catalog/model.ts';

const node = (name: string, c: number, m = c) => ({ ID: `id-${name}`, Node: name, Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {}, CreateIndex: c, ModifyIndex: m });
const svc = (id: string, c: number, m = c, name = 'web'): ServiceRec => ({ ID: id, Service: name, Tags: [], Address: '', Meta: {}, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: c, ModifyIndex: m });
const chk = (id: string, sid: string, status: HealthStatus, c: number, m = c): CheckRec => ({ Node: 'a', CheckID: id, Name: id, Status: status, Notes: '', Output: '', ServiceID: sid, ServiceName: 'web', ServiceTags: [], Type: 'ttl', Interval: '', Timeout: '', ExposedPort: 0, Definition: {}, CreateIndex: c, ModifyIndex: m });
const st = (n: ReturnType<typeof node>, services: ServiceRec[], checks: CheckRec[] = []): NodeState =>
  ({ node: n, services: new Map(services.map(s => [s.ID, s])), checks: new Map(checks.map(c => [c.CheckID, c])) });

test('merge: a record is replaced only by one at least as new', t => {
  const tombs = new Map<string, number>();
  const cur = svc('w1', 5, 9);
  t.is(mergeRecord(cur, svc('w1', 5, 7), 8, 'w1', tombs), cur, 'an older write of the same incarnation loses');
  const later = svc('w1', 5, 12);
  t.is(mergeRecord(cur, later, 12, 'w1', tombs), later);
  const same = svc('w1', 5, 9);
  t.is(mergeRecord(cur, same, 9, 'w1', tombs), same, 'equal indexes: the incoming copy (identical by construction)');
  const reborn = svc('w1', 11, 11);
  t.is(mergeRecord(cur, reborn, 11, 'w1', tombs), reborn, 'a later incarnation wins');
  t.is(mergeRecord(svc('w1', 20), svc('w1', 5, 9), 15, 'w1', tombs)!.CreateIndex, 20, 'an earlier incarnation loses');
});

test('merge: a record missing from a read is dropped only if it existed when the read was taken', t => {
  const tombs = new Map<string, number>();
  t.is(mergeRecord(svc('w1', 10), null, 9, 'w1', tombs)!.ID, 'w1', 'created after the read: kept');
  t.is(tombs.size, 0);
  t.is(mergeRecord(svc('w1', 10), null, 10, 'w1', tombs), null, 'existed at the read: dropped');
  t.is(tombs.get('w1'), 10);
  t.is(mergeRecord(undefined, svc('w1', 10, 10), 9, 'w1', tombs), null, 'an older read still carrying it: not brought back');
  t.is(mergeRecord(undefined, svc('w1', 14), 14, 'w1', tombs)!.CreateIndex, 14, 're-registered later: taken');
  t.false(tombs.has('w1'), 'the tombstone goes with the re-registration');
});

test('merge: read index 0 is authoritative (replaces, removes)', t => {
  const tombs = newTombs();
  const a = st(node('a', 5), [svc('w1', 20)]);
  t.is(mergeNode(a, null, 0, tombs), null);
  const b = st(node('a', 1), []);
  t.is(mergeNode(a, b, 0, tombs), b);
});

test('merge: whole nodes — created after the read kept, deleted ones not resurrected, incarnations compared', t => {
  const tombs: NodeTombs = newTombs();
  const a = st(node('a', 10), [svc('w1', 10)]);
  t.is(mergeNode(a, null, 9, tombs), a, 'node registered after the snapshot was read');
  t.is(mergeNode(a, null, 12, tombs), null, 'node gone at a later read');
  t.is(tombs.node, 12);
  t.is(mergeNode(undefined, a, 11, tombs), null, 'an older read of the deleted incarnation');
  const reborn = st(node('a', 15), [svc('w2', 15)]);
  t.is(mergeNode(undefined, reborn, 15, tombs), reborn);
  t.is(mergeNode(reborn, a, 16, newTombs()), reborn, 'the view holds a later incarnation');
});

test('merge: same incarnation merges record by record', t => {
  const tombs = newTombs();
  const view = st(node('a', 1, 8), [svc('w1', 1), svc('w2', 9)], [chk('c1', 'w1', 'critical', 2, 10)]);
  const snap = st(node('a', 1, 3), [svc('w1', 1), svc('w3', 2)], [chk('c1', 'w1', 'passing', 2, 4)]);
  const m = mergeNode(view, snap, 7, tombs)!;
  t.is(m.node.ModifyIndex, 8);
  t.deepEqual([...m.services.keys()].sort(), ['w1', 'w2', 'w3'], 'w2 created at 9 > 7 kept; w3 (absent from the view) taken');
  t.is(m.checks.get('c1')!.Status, 'critical', 'the check written at 10 is newer than the snapshot\'s');
});

test('merge: tombstones are pruned up to a bound', t => {
  const all = new Map<string, NodeTombs>([['a', { node: 0, svc: new Map([['w1', 5], ['w2', 9]]), chk: new Map() }], ['b', { node: 4, svc: new Map(), chk: new Map() }]]);
  pruneTombs(all, 5);
  t.deepEqual([...all.keys()], ['a']);
  t.deepEqual([...all.get('a')!.svc], [['w2', 9]]);
});

test('view: putNode and patchNode never move the view back; replaceAll keeps later reads', t => {
  const v = new CatalogView();
  v.replaceAll([st(node('a', 1), [svc('w1', 1)], [chk('c1', 'w1', 'passing', 1)])], 1);
  v.patchNode('a', new Map(), new Map([['c1', chk('c1', 'w1', 'critical', 1, 5)]]), 5);
  t.is(v.instances('web')[0]!.checks[0]!.Status, 'critical');
  // A partial read taken earlier (at 4) arrives late.
  v.patchNode('a', new Map(), new Map([['c1', chk('c1', 'w1', 'passing', 1, 3)]]), 4);
  t.is(v.instances('web')[0]!.checks[0]!.Status, 'critical');
  // A new node from an event read at 7, then a snapshot read at 6 without it.
  v.putNode('b', st(node('b', 7), [svc('w9', 7)]), 7);
  v.replaceAll([st(node('a', 1), [svc('w1', 1)], [chk('c1', 'w1', 'passing', 1, 3)])], 6);
  t.deepEqual(v.instances('web').map(i => i.service.ID), ['w1', 'w9']);
  t.is(v.instances('web')[0]!.checks[0]!.Status, 'critical');
  // A later snapshot that no longer has b removes it.
  v.replaceAll([st(node('a', 1), [svc('w1', 1)], [chk('c1', 'w1', 'critical', 1, 5)])], 8);
  t.deepEqual(v.instances('web').map(i => i.service.ID), ['w1']);
  // And an even older per-node read of b (at 7) cannot bring it back.
  v.putNode('b', st(node('b', 7), [svc('w9', 7)]), 7);
  t.is(v.node('b'), undefined);
});
