import test from 'ava';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalState } from '../../src/agent/local-state.ts';
import type { CheckRec, NodeState, ServiceRec } from '../../src/catalog/model.ts';

const svc = (id: string, port: number, idx = 5): ServiceRec => ({ ID: id, Service: 'web', Tags: [], Address: '', Meta: {}, Port: port, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: idx, ModifyIndex: idx });
const chk = (id: string, sid: string, status: CheckRec['Status'] = 'critical', output = '', def: CheckRec['Definition'] = { TTL: '30s' }): CheckRec => ({
  Node: 'n1', CheckID: id, Name: id, Status: status, Notes: '', Output: output, ServiceID: sid, ServiceName: sid ? 'web' : '', ServiceTags: [], Type: 'ttl', Interval: '', Timeout: '', ExposedPort: 0, Definition: def, CreateIndex: 6, ModifyIndex: 6,
});
const node = (services: ServiceRec[], checks: CheckRec[]): NodeState => ({
  node: { ID: 'x', Node: 'n1', Address: '127.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {}, CreateIndex: 1, ModifyIndex: 1 },
  services: new Map(services.map(s => [s.ID, s])), checks: new Map(checks.map(c => [c.CheckID, c])),
});
const fresh = () => new LocalState(mkdtempSync(join(tmpdir(), 'roster-ls-')));

test('local state: in sync → no diff; indexes and check status are not differences', t => {
  const ls = fresh();
  ls.track(node([svc('w1', 80)], [chk('c1', 'w1')]), { services: ['w1'], checks: ['c1'] });
  t.is(ls.diff(node([svc('w1', 80, 99)], [chk('c1', 'w1', 'passing', 'ok')]), 'n1'), null);
});

test('local state: missing or changed records come back as the agent registered them, TTL re-armed, status kept', t => {
  const ls = fresh();
  ls.track(node([svc('w1', 80)], [chk('c1', 'w1', 'passing', 'fine')]), { services: ['w1'], checks: ['c1'] });
  const d = ls.diff(node([svc('w1', 1)], []), 'n1')!;
  t.deepEqual(d.services.map(s => [s.ID, s.Port]), [['w1', 80]]);
  t.false('CreateIndex' in d.services[0]!);
  t.is(d.checks.length, 1);
  t.like(d.checks[0], { status: 'passing', output: 'fine', keep: false, ttlMs: 30_000 });
  t.is(d.node, null);
  t.deepEqual(ls.diff(undefined, 'n1')!.services.map(s => s.ID), ['w1']);
});

test('local state: what the agent deregistered is forgotten (a service with its checks); replace-existing-checks drops the rest', t => {
  const ls = fresh();
  ls.track(node([svc('w1', 80), svc('w2', 81)], [chk('c1', 'w1'), chk('c2', 'w2'), chk('c3', 'w2')]), { services: ['w1', 'w2'], checks: ['c1', 'c2', 'c3'] });
  ls.forget('service', 'w1');
  t.deepEqual([...ls.services.keys()], ['w2']);
  t.deepEqual([...ls.checks.keys()], ['c2', 'c3']);
  ls.forgetChecksOf('w2', ['c3']);
  t.deepEqual([...ls.checks.keys()], ['c3']);
  ls.forget('check', 'c3');
  t.is(ls.checks.size, 0);
});

test('local state: check status and output follow the catalog; the snapshot is written 0600 and read back', t => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-ls-'));
  const ls = new LocalState(dir);
  ls.track(node([svc('w1', 80)], [chk('c1', 'w1')]), { services: ['w1'], checks: ['c1'] });
  ls.refresh(node([svc('w1', 80)], [chk('c1', 'w1', 'warning', 'slow')]));
  t.like(ls.checks.get('c1'), { Status: 'warning', Output: 'slow' });
  ls.flush();
  t.is(statSync(join(dir, 'local-state.json')).mode & 0o777, 0o600);
  const again = new LocalState(dir);
  t.deepEqual([...again.services.keys()], ['w1']);
  t.like(again.checks.get('c1'), { Status: 'warning', Output: 'slow' });
});
