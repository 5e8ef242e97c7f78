/** acl: the resolver's token cache (token_ttl, fake clock), expiry, identities, and down_policy while Redis is away. */
import test from 'ava';
import { AclResolver, AclNotFound, MANAGEMENT_POLICY_ID } from '../../src/acl/resolver.ts';
import { parseRules } from '../../src/acl/rules.ts';
import { defaultAclConfig, type AclConfig } from '../../src/config/schema.ts';
import type { AclStore, TokenRec } from '../../src/store/acl-store.ts';

const tok = (acc: string, policies: string[], extra: Partial<TokenRec> = {}): TokenRec => ({
  AccessorID: acc, Description: '', Policies: policies.map(ID => ({ ID })), Roles: [], ServiceIdentities: [], NodeIdentities: [], Local: false,
  CreateTime: '', Hash: '', CreateIndex: 1, ModifyIndex: 1, ...extra,
});

/** A stand-in for the Redis-backed store (the integration tests use the real one). */
function fakeStore(tokens: Record<string, TokenRec>) {
  const s = {
    redis: { status: 'ready' },
    calls: 0,
    fail: false,
    async tokenBySecret(secret: string) {
      s.calls++;
      if (s.fail) throw new Error('Command timed out');
      return tokens[secret] ?? null;
    },
  };
  return s;
}

function setup(cfg: Partial<AclConfig> = {}, tokens: Record<string, TokenRec> = {}) {
  let now = 1_000_000;
  const store = fakeStore(tokens);
  const r = new AclResolver(store as unknown as AclStore, { ...defaultAclConfig(), enabled: true, defaultPolicy: 'deny', ...cfg }, { now: () => now });
  r.policies.set('p1', { rec: { ID: 'p1', Name: 'kv', Description: '', Rules: '', Datacenters: null, Hash: '', CreateIndex: 1, ModifyIndex: 1 }, rules: parseRules('key_prefix "a/" { policy = "write" }') });
  return { r, store, advance: (ms: number) => { now += ms; } };
}

test('acl resolver: a token is read once per token_ttl', async t => {
  const { r, store, advance } = setup({ tokenTtlMs: 30_000 }, { s1: tok('acc1', ['p1']) });
  const a = await r.resolve('s1');
  t.true(a.authz.allow('key', 'a/x', 'write'));
  await r.resolve('s1');
  advance(29_999);
  await r.resolve('s1');
  t.is(store.calls, 1);
  advance(2);
  const b = await r.resolve('s1');
  t.is(store.calls, 2);
  t.is(b.authz, a.authz, 'the same Authorizer while nothing changed (DNS and filter caches key on it)');
});

test('acl resolver: unknown secrets are cached as not found; expired tokens are not found', async t => {
  const { r, store, advance } = setup({}, { s2: tok('acc2', [], { ExpirationTime: new Date(1_000_000 + 60_000).toISOString() }) });
  await t.throwsAsync(r.resolve('nope'), { instanceOf: AclNotFound, message: 'ACL not found' });
  await t.throwsAsync(r.resolve('nope'), { instanceOf: AclNotFound });
  t.is(store.calls, 1);
  await r.resolve('s2');
  advance(60_000);
  await t.throwsAsync(r.resolve('s2'), { instanceOf: AclNotFound });
});

test('acl resolver: management and identities', async t => {
  const { r } = setup({}, { m: tok('m', [MANAGEMENT_POLICY_ID]), svc: tok('svc', [], { ServiceIdentities: [{ ServiceName: 'web' }] }), node: tok('n', [], { NodeIdentities: [{ NodeName: 'n1', Datacenter: 'dc1' }] }) });
  t.true((await r.resolve('m')).authz.all);
  const s = (await r.resolve('svc')).authz;
  t.true(s.allow('service', 'web', 'write'));
  t.true(s.allow('service', 'web-sidecar-proxy', 'write'));
  t.false(s.allow('service', 'db', 'write'));
  t.true(s.allow('service', 'db', 'read'));
  t.true(s.allow('node', 'any', 'read'));
  const n = (await r.resolve('node')).authz;
  t.true(n.allow('node', 'n1', 'write'));
  t.false(n.allow('node', 'n2', 'write'));
});

for (const [policy, cached, uncached] of [['extend-cache', 'allowed', 'denied'], ['async-cache', 'allowed', 'denied'], ['deny', 'denied', 'denied'], ['allow', 'allowed', 'allowed']] as const) {
  test(`acl resolver: down_policy ${policy} while Redis is unreachable`, async t => {
    const { r, store, advance } = setup({ downPolicy: policy, tokenTtlMs: 1000 }, { s1: tok('acc1', ['p1']), s3: tok('acc3', ['p1']) });
    await r.resolve('s1');
    advance(5000); // past token_ttl
    store.fail = true;
    const a = await r.resolve('s1');
    t.is(a.authz.allow('key', 'a/x', 'write') ? 'allowed' : 'denied', cached, 'a cached token');
    const b = await r.resolve('s3');
    t.is(b.authz.allow('key', 'a/x', 'write') ? 'allowed' : 'denied', uncached, 'a token never seen');
    (store.redis as { status: string }).status = 'reconnecting';
    const c = await r.resolve('s1');
    t.is(c.authz.allow('key', 'a/x', 'write') ? 'allowed' : 'denied', cached, 'connection down: no Redis call');
  });
}

test('acl resolver: async-cache answers from a stale entry at once and refreshes in the background', async t => {
  const tokens: Record<string, TokenRec> = { s1: tok('acc1', ['p1']) };
  const { r, store, advance } = setup({ downPolicy: 'async-cache', tokenTtlMs: 1000 }, tokens);
  await r.resolve('s1');
  advance(5000);
  delete tokens.s1; // deleted meanwhile: the stale answer is served once, the refresh learns it
  const stale = await r.resolve('s1');
  t.true(stale.authz.allow('key', 'a/x', 'write'));
  await new Promise(res => setImmediate(res));
  t.is(store.calls, 2);
  await t.throwsAsync(r.resolve('s1'), { instanceOf: AclNotFound });
});
