import test from 'ava';
import { buildSession, parseLockDelay } from '../../src/http/routes/session.ts';
import { eventIndex } from '../../src/http/routes/event.ts';
import { applyKvEvent, fireAllKv, KV_RESYNC_TOPIC, SESSIONS_TOPIC, EVENTS_TOPIC } from '../../src/kv/services.ts';
import { Notifier } from '../../src/http/blocking.ts';
import { HttpError } from '../../src/http/server.ts';
import type { ApiDeps } from '../../src/http/context.ts';

const deps = { nodeName: 'Agent-1', view: { node: (n: string) => (n.toLowerCase() === 'agent-1' ? { node: { Node: 'Agent-1' } } : undefined) } } as unknown as ApiDeps;

const lockDelays: [unknown, number][] = [[undefined, 15e9], [5, 5e9], [999, 60e9], [1000, 1000], [2_000_000_000, 2e9], ['0.001s', 1e6], ['90s', 60e9], ['0s', 0], ['', 15e9]];
for (const [v, want] of lockDelays) {
  test(`session: LockDelay ${JSON.stringify(v)} → ${want} ns`, t => { t.is(parseLockDelay(v), want); });
}

test('session: defaults (serfHealth, release, 15s, agent node)', t => {
  const s = buildSession(undefined, deps);
  t.deepEqual(s.NodeChecks, ['serfHealth']);
  t.is(s.Behavior, 'release');
  t.is(s.Node, 'Agent-1');
  t.is(s._node, 'agent-1');
  t.is(s.TTL, '');
  t.regex(s.ID, /^[0-9a-f-]{36}$/);
});

test('session: Patroni body (lowercase, checks: [], decimal durations)', t => {
  const s = buildSession({ name: 'pg-m1', checks: [], lockdelay: '0.001s', behavior: 'delete', ttl: '15.0s' }, deps);
  t.is(s.NodeChecks, null);
  t.deepEqual(s._checks, []);
  t.is(s.Behavior, 'delete');
  t.is(s._ttlMs, 15_000);
  t.is(s.LockDelay, 1e6);
});

test('session: legacy Checks merge into NodeChecks; ServiceChecks are linked too', t => {
  const s = buildSession({ Checks: ['a', 'serfHealth'], ServiceChecks: [{ ID: 'service:web' }] }, deps);
  t.deepEqual(s.NodeChecks, ['a', 'serfHealth']);
  t.deepEqual(s.ServiceChecks, [{ ID: 'service:web', Namespace: '' }]);
  t.deepEqual(s._checks, ['a', 'serfHealth', 'service:web']);
});

test('session: only ServiceChecks keeps the default NodeChecks serfHealth (issue 15)', t => {
  const s = buildSession({ ServiceChecks: [{ ID: 'service:web' }] }, deps);
  t.deepEqual(s.NodeChecks, ['serfHealth']);
  t.deepEqual(s._checks, ['serfHealth', 'service:web']);
  // The Go client's SessionEntry marshals unset slices as null.
  const g = buildSession({ Name: '', Node: '', LockDelay: 0, Behavior: '', TTL: '', Checks: null, NodeChecks: null, ServiceChecks: [{ ID: 'service:web', Namespace: '' }] }, deps);
  t.deepEqual(g.NodeChecks, ['serfHealth']);
  const n = buildSession({ NodeChecks: [], ServiceChecks: [{ ID: 'service:web' }] }, deps);
  t.deepEqual(n.NodeChecks, []);
  t.deepEqual(n._checks, ['service:web']);
});

const errors: [unknown, number, string][] = [
  [{ TTL: '5s' }, 500, "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]"],
  [{ TTL: '25h' }, 500, "Invalid Session TTL '90000000000000', must be between [10s=24h0m0s]"],
  [{ Behavior: 'keep' }, 500, "Invalid Behavior setting 'keep'"],
  [{ TTL: 10 }, 400, 'Request decode failed: json: cannot unmarshal number into Go struct field .TTL of type string'],
];
for (const [body, status, msg] of errors) {
  test(`session: ${JSON.stringify(body)} → ${status}`, t => {
    const e = t.throws(() => buildSession(body, deps), { instanceOf: HttpError });
    t.is(e!.status, status);
    t.is(e!.message, msg);
  });
}

test('event: index is the XOR of the two UUID halves, 1 when empty', t => {
  t.is(eventIndex([]), 1n);
  t.is(eventIndex([{ ID: '00000000-0000-0001-0000-000000000003' }]), 1n ^ 3n);
  t.is(eventIndex([{ ID: 'x' }, { ID: 'ffffffff-ffff-ffff-0000-000000000000' }]), 0xffffffffffffffffn);
});

test('kv events: a change wakes its key and prefixes; sessions/events topics; wake-all after a reconnect', async t => {
  const n = new Notifier();
  const d = { notifier: n } as unknown as ApiDeps;
  const woke: string[] = [];
  const w = (name: string, topics: string[], prefixes: string[] = []) => n.wait(topics, prefixes, 2000).then(() => woke.push(name));
  const ps = [w('key', ['kv:a/b']), w('other', ['kv:a/c']), w('prefix', [], ['a/']), w('sess', [SESSIONS_TOPIC])];
  applyKvEvent(d, JSON.stringify({ i: 5, k: ['a/b'], s: 1 }));
  await Promise.all([ps[0], ps[2], ps[3]]);
  t.deepEqual(woke.sort(), ['key', 'prefix', 'sess']);
  const all = [w('other2', ['kv:zzz', KV_RESYNC_TOPIC]), w('ev', [EVENTS_TOPIC])];
  fireAllKv(d);
  await Promise.all(all);
  t.true(woke.includes('other2') && woke.includes('ev'));
  t.false(woke.includes('other'));
});
