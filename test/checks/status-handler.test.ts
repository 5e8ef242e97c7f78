import test from 'ava';
import { thresholdsOf } from '../../src/checks/status-handler.ts';
import { jobFor, schedulerId } from '../../src/checks/engine.ts';
import { aliasResult } from '../../src/checks/alias.ts';
import type { CheckRec, NodeState } from '../../src/catalog/model.ts';

test('status-handler: FailuresBeforeWarning defaults to FailuresBeforeCritical', t => {
  t.deepEqual(thresholdsOf({ FailuresBeforeCritical: 4 }), { successBeforePassing: 1, failuresBeforeWarning: 4, failuresBeforeCritical: 4 });
  t.deepEqual(thresholdsOf({}), { successBeforePassing: 1, failuresBeforeWarning: 1, failuresBeforeCritical: 1 });
});

const chk = (over: Partial<CheckRec>): CheckRec => ({
  Node: 'n1', CheckID: 'c', Name: 'c', Status: 'critical', Notes: '', Output: '', ServiceID: 'web', ServiceName: 'web', ServiceTags: [], Type: 'http',
  Interval: '10s', Timeout: '', ExposedPort: 0, Definition: { HTTP: 'http://x', Interval: '10s' }, CreateIndex: 1, ModifyIndex: 1, ...over,
});

test('engine: interval and timeout parsing (defaults, Go durations, 1s minimum)', t => {
  t.like(jobFor(chk({}), 300_000), { intervalMs: 10_000, timeoutMs: 10_000, type: 'http', outputIntervalMs: 300_000 });
  t.like(jobFor(chk({ Definition: { HTTP: 'x', Interval: '1m30s', Timeout: '1.5s' } }), 0), { intervalMs: 90_000, timeoutMs: 1500 });
  t.like(jobFor(chk({ Definition: { HTTP: 'x', Interval: '500ms', Timeout: '250ms' } }), 0), { intervalMs: 1000, timeoutMs: 250 });
  t.is(jobFor(chk({ Type: 'ttl', Definition: { TTL: '10s' } }), 0), null);
  t.is(jobFor(chk({ Type: 'alias', Definition: { AliasService: 'db' } }), 0), null);
  t.is(schedulerId('Node-A', 'service:web:1'), 'node-a/service%3Aweb%3A1');
});

test('alias: mirrors the worst status of the aliased service and its node checks', t => {
  const alias = chk({ CheckID: 'a', Type: 'alias', ServiceID: 'front', Definition: { AliasService: 'db' } });
  const node = (checks: CheckRec[]): NodeState => ({
    node: { ID: '', Node: 'n1', Address: '', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {}, CreateIndex: 1, ModifyIndex: 1 },
    services: new Map([['db', { ID: 'db', Service: 'db', Tags: [], Address: '', Meta: {}, Port: 1, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: 1, ModifyIndex: 1 }]]),
    checks: new Map(checks.map(c => [c.CheckID, c])),
  });
  t.deepEqual(aliasResult(alias, node([chk({ CheckID: 'd1', ServiceID: 'db', Status: 'passing' })])), { status: 'passing', output: 'All checks passing.' });
  t.deepEqual(aliasResult(alias, node([chk({ CheckID: 'd1', ServiceID: 'db', Status: 'warning', Name: 'db http', Output: 'slow' })])), { status: 'warning', output: 'Aliased check "db http" failing: slow' });
  t.is(aliasResult(alias, node([chk({ CheckID: 'd1', ServiceID: 'db', Status: 'passing' }), chk({ CheckID: 'serfHealth', ServiceID: '', Status: 'critical' })])).status, 'critical');
  t.is(aliasResult(alias, node([chk({ CheckID: 'x', ServiceID: 'other', Status: 'critical' })])).status, 'passing');
  t.deepEqual(aliasResult({ ...alias, Definition: { AliasService: 'nope' } }, node([])), { status: 'critical', output: 'Service not found' });
});
