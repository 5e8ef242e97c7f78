/**
 * acl: the resolver follows the change hints (src/store/hint-log.ts): an `acl` hint reloads policies and roles
 * when the revision moved, a loss of hints reloads even when it did not, a reload that fails is retried every
 * second (fake clock) until one succeeds, and loads never overlap (an older one never lands last).
 */
import test from 'ava';
import { AclResolver } from '../../src/acl/resolver.ts';
import { defaultAclConfig } from '../../src/config/schema.ts';
import type { AclStore, PolicyRec } from '../../src/store/acl-store.ts';
import type { HintKind, HintSource } from '../../src/store/hint-log.ts';
import { fakeClock } from '../helpers/clock.ts';

const pol = (id: string, rules: string, m = 1): PolicyRec => ({ ID: id, Name: id, Description: '', Rules: rules, Datacenters: null, Hash: '', CreateIndex: 1, ModifyIndex: m });

/** A stand-in for the Redis-backed store: a revision and a policy list the test changes. */
function fakeStore() {
  const s = {
    redis: { status: 'ready' },
    rev: 1,
    policies: [pol('p1', 'key "a" { policy = "read" }')],
    loads: 0,
    fail: false,
    /** When set, listPolicies waits for it (a slow load). */
    gate: null as Promise<void> | null,
    async init() {},
    async putPolicy() { return 0; },
    async putToken() { return 0; },
    async tokenBySecret() { return null; },
    async listRoles() { return []; },
    async listPolicies() {
      s.loads++;
      const snapshot = s.policies;
      if (s.gate) await s.gate;
      if (s.fail) throw new Error('Command timed out');
      return snapshot;
    },
  };
  return { s, store: { ...s, rev: async () => s.rev, listPolicies: () => s.listPolicies(), redis: s.redis } as unknown as AclStore };
}

function fakeHints() {
  const on = new Map<HintKind, (v: string) => void>();
  let lost: ((why: string) => void) | undefined;
  const src: HintSource = {
    on: (k, fn) => { on.set(k, fn); return () => on.delete(k); },
    onLost: fn => { lost = fn; return () => { lost = undefined; }; },
  };
  return { src, acl: (rev: number) => on.get('acl')?.(String(rev)), lose: () => lost?.('test'), subscribed: () => on.has('acl') && lost !== undefined };
}

const settle = () => new Promise(r => setImmediate(r));
const rulesOf = (r: AclResolver, id: string) => r.policies.get(id)?.rec.Rules;

test('acl resolver: an acl hint reloads when the revision moved; a hint for a revision already loaded reads nothing more', async t => {
  const { s, store } = fakeStore();
  const h = fakeHints();
  const r = new AclResolver(store, { ...defaultAclConfig(), enabled: true });
  t.teardown(() => r.stop());
  await r.start(h.src);
  t.true(h.subscribed());
  t.is(s.loads, 1);
  h.acl(1);
  await settle();
  t.is(s.loads, 1, 'same revision: no reload');
  s.rev = 2;
  s.policies = [pol('p1', 'key "a" { policy = "write" }', 2)];
  h.acl(2);
  await settle(); await settle();
  t.is(s.loads, 2);
  t.is(rulesOf(r, 'p1'), 'key "a" { policy = "write" }');
});

test('acl resolver: a loss of hints reloads even when the revision looks the same (a restore may bring back an old one)', async t => {
  const { s, store } = fakeStore();
  const h = fakeHints();
  const r = new AclResolver(store, { ...defaultAclConfig(), enabled: true });
  t.teardown(() => r.stop());
  await r.start(h.src);
  s.policies = [pol('p1', 'key "b" { policy = "read" }', 1)]; // same revision and ModifyIndex, other rules
  h.lose();
  await settle(); await settle();
  t.is(s.loads, 2);
  t.is(rulesOf(r, 'p1'), 'key "b" { policy = "read" }');
  t.true(r.policies.get('p1')!.rules.exact.key?.has('b'), 'the rules were parsed again, not reused by ModifyIndex');
});

test.serial('acl resolver: a reload that fails is retried every second until one succeeds, then no more', async t => {
  const clock = fakeClock(t);
  const { s, store } = fakeStore();
  const h = fakeHints();
  const r = new AclResolver(store, { ...defaultAclConfig(), enabled: true });
  t.teardown(() => r.stop());
  await r.start(h.src);
  s.fail = true;
  s.rev = 2;
  h.acl(2);
  await clock.until(() => s.loads === 2, 100, 'the hinted reload');
  await clock.advance(1000);
  t.is(s.loads, 3, 'retried after a second');
  s.fail = false;
  s.policies = [pol('p1', 'key "c" { policy = "read" }', 2)];
  await clock.advance(1000);
  t.is(s.loads, 4);
  t.is(rulesOf(r, 'p1'), 'key "c" { policy = "read" }');
  await clock.advance(3000);
  t.is(s.loads, 4, 'no poll once loaded');
});

test('acl resolver: loads never overlap; a hint during a slow load makes it run once more, so the newest lands last', async t => {
  const { s, store } = fakeStore();
  const h = fakeHints();
  const r = new AclResolver(store, { ...defaultAclConfig(), enabled: true });
  t.teardown(() => r.stop());
  await r.start(h.src);
  let open!: () => void;
  s.gate = new Promise(res => { open = res; });
  s.rev = 2;
  s.policies = [pol('p1', 'key "old" { policy = "read" }', 2)];
  h.acl(2); // a load starts and waits on the gate with the revision-2 policies
  await settle();
  s.rev = 3;
  s.policies = [pol('p1', 'key "new" { policy = "read" }', 3)];
  h.acl(3); // while it waits: no second load in parallel
  await settle();
  t.is(s.loads, 2, 'one load in flight');
  s.gate = null;
  open();
  await r.refresh();
  t.is(s.loads, 3, 'then once more');
  t.is(rulesOf(r, 'p1'), 'key "new" { policy = "read" }');
});
