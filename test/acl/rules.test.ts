/** acl: the rules language and Consul's precedence (reference checklist 11, 20-23, 27 and §9). */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRules, GLOBAL_MANAGEMENT_RULES, RulesError } from '../../src/acl/rules.ts';
import { Authorizer } from '../../src/acl/authorizer.ts';
import { loadAgentConfig } from '../../src/config/load.ts';
import { redact } from '../../src/log.ts';

const authz = (texts: string[], defaultAllow = false) => new Authorizer(texts.map(parseRules), defaultAllow);

test('acl: HCL and JSON forms parse to the same rules', t => {
  const hcl = parseRules('key_prefix "" { policy = "read" }\nkey_prefix "foo/" { policy = "write" }\nkey "foo/bar/secret" { policy = "deny" }\nservice "app" { policy = "write"  intentions = "read" }\noperator = "read"');
  const json = parseRules('{"key_prefix":{"":{"policy":"read"},"foo/":{"policy":"write"}},"key":{"foo/bar/secret":{"policy":"deny"}},"service":{"app":{"policy":"write","intentions":"read"}},"operator":"read"}');
  t.deepEqual(hcl, json);
  t.is(hcl.prefix.key!.get('foo/'), 'write');
  t.is(hcl.scalar.operator, 'read');
  // one-line form from the docs
  t.deepEqual([...parseRules('key "" { policy = "read" } key "foo/" { policy = "write" }').exact.key!], [['', 'read'], ['foo/', 'write']]);
});

test('acl: empty rules are a valid policy; invalid ones carry Consul\'s texts', t => {
  t.deepEqual(parseRules(''), { exact: {}, prefix: {}, scalar: {} });
  const cases: [string, RegExp][] = [
    ['key "x" { policy = "yes" }', /^Invalid key policy: /],
    ['key_prefix "x" { policy = "yes" }', /^Invalid key_prefix policy: /],
    ['service "x" { policy = "list" }', /^Invalid service policy: /],
    ['service "x" { policy = "read" intentions = "x" }', /^Invalid service intentions policy: /],
    ['node "x" { policy = "bad" }', /^Invalid node policy: /],
    ['session_prefix "" { policy = "x" }', /^Invalid session_prefix policy: /],
    ['event "x" { }', /^Invalid event policy: /],
    ['query "x" { policy = "x" }', /^Invalid query policy: /],
    ['agent "x" { policy = "x" }', /^Invalid agent policy: /],
    ['acl = "x"', /^Invalid acl policy: "x"/],
    ['keyring = "list"', /^Invalid keyring policy: "list"/],
    ['operator = "x"', /^Invalid operator policy: "x"/],
    ['key "x" { policy = "rea', /^Failed to parse ACL rules: /],
  ];
  for (const [text, re] of cases) t.throws(() => parseRules(text), { instanceOf: RulesError, message: re }, text);
  t.is(parseRules('key "x" { policy = "list" }').exact.key!.get('x'), 'list');
});

test('acl: exact beats prefix (checklist 20)', t => {
  const a = authz(['key_prefix "" { policy = "deny" }\nkey "a" { policy = "read" }']);
  t.true(a.allow('key', 'a', 'read'));
  t.false(a.allow('key', 'b', 'read'));
  t.false(a.allow('key', 'a', 'write'));
  t.false(a.allow('key', 'ab', 'read'), 'exact rule is not a prefix');
});

test('acl: longest prefix wins (checklist 21)', t => {
  const a = authz(['key_prefix "a/" { policy = "write" }\nkey_prefix "a/b/" { policy = "read" }']);
  t.true(a.allow('key', 'a/x', 'write'));
  t.false(a.allow('key', 'a/b/x', 'write'));
  t.true(a.allow('key', 'a/b/x', 'read'));
  t.false(a.allow('key', 'c', 'read'), 'no rule: default deny');
});

test('acl: merging policies: deny > write > list > read (checklist 22)', t => {
  t.false(authz(['service "web" { policy = "read" }', 'service "web" { policy = "deny" }']).allow('service', 'web', 'read'));
  const w = authz(['service "web" { policy = "read" }', 'service "web" { policy = "write" }']);
  t.true(w.allow('service', 'web', 'write'));
  const l = authz(['key "k" { policy = "read" }', 'key "k" { policy = "list" }']);
  t.true(l.allow('key', 'k', 'list'));
  t.false(authz(['key "k" { policy = "read" }']).allow('key', 'k', 'list'), 'read does not grant list');
  t.true(authz(['key "k" { policy = "write" }']).allow('key', 'k', 'list'), 'write grants list');
  // an exact read beats a prefix deny for that one name, even from another policy
  const mixed = authz(['key_prefix "" { policy = "deny" }', 'key "a" { policy = "read" }']);
  t.true(mixed.allow('key', 'a', 'read'));
});

test('acl: default_policy allow makes rules a deny-list (checklist 23)', t => {
  const a = authz(['service "db" { policy = "deny" }'], true);
  t.false(a.allow('service', 'db', 'write'));
  t.true(a.allow('service', 'web', 'write'));
  t.true(a.allowScalar('operator', 'write'));
  t.false(a.readsAll('service'));
  t.true(a.readsAll('node'));
});

test('acl: scalars; mesh and peering fall back to operator', t => {
  const a = authz(['acl = "read"\noperator = "write"']);
  t.true(a.allowScalar('acl', 'read'));
  t.false(a.allowScalar('acl', 'write'));
  t.true(a.allowScalar('mesh', 'write'));
  t.false(a.allowScalar('keyring', 'read'));
});

test('acl: KeyWritePrefix for DELETE ?recurse (checklist 27)', t => {
  t.false(authz(['key_prefix "a/" { policy = "write" }\nkey "a/z" { policy = "read" }']).keyWritePrefix('a/'));
  t.true(authz(['key_prefix "a/" { policy = "write" }']).keyWritePrefix('a/'));
  t.true(authz(['key_prefix "a/" { policy = "write" }']).keyWritePrefix('a/b/'));
  t.false(authz(['key_prefix "a/" { policy = "write" }\nkey_prefix "a/b/" { policy = "deny" }']).keyWritePrefix('a/'));
  t.false(authz(['key_prefix "a/" { policy = "read" }']).keyWritePrefix('a/'));
  t.false(authz([]).keyWritePrefix(''));
  t.true(authz([], true).keyWritePrefix(''));
});

test('acl: global-management rules allow everything', t => {
  const a = authz([GLOBAL_MANAGEMENT_RULES]);
  for (const r of ['agent', 'event', 'key', 'node', 'query', 'service', 'session'] as const) t.true(a.allow(r, 'anything', 'write'), r);
  for (const s of ['acl', 'keyring', 'operator', 'mesh', 'peering'] as const) t.true(a.allowScalar(s, 'write'), s);
});

test('acl: readsAll lets filters skip work only when nothing can be hidden', t => {
  t.true(authz(['service_prefix "" { policy = "read" }']).readsAll('service'));
  t.false(authz(['service_prefix "" { policy = "read" }\nservice "x" { policy = "deny" }']).readsAll('service'));
  t.false(authz(['service "web" { policy = "read" }']).readsAll('service'));
});

test('acl: config block from HCL and JSON; tokens are redacted from logs', t => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-acl-'));
  const hcl = join(dir, 'a.hcl');
  writeFileSync(hcl, 'acl {\n enabled = true\n default_policy = "deny"\n down_policy = "deny"\n enable_token_persistence = true\n token_ttl = "5s"\n tokens {\n initial_management = "11111111-2222-3333-4444-555555555555"\n agent = "a-secret-1"\n default = "d-secret-1"\n dns = "n-secret-1"\n }\n}\n');
  const c = loadAgentConfig({ dev: true, 'config-file': [hcl] }).acl;
  t.deepEqual(c, { enabled: true, defaultPolicy: 'deny', downPolicy: 'deny', enableTokenPersistence: true, enableKeyListPolicy: false, tokenTtlMs: 5000, tokens: { initialManagement: '11111111-2222-3333-4444-555555555555', agent: 'a-secret-1', default: 'd-secret-1', dns: 'n-secret-1' } });
  const json = join(dir, 'b.json');
  writeFileSync(json, JSON.stringify({ acl: { enabled: true, default_policy: 'allow', tokens: { master: 'm-secret-2', agent_master: 'r-secret-2' } } }));
  const j = loadAgentConfig({ dev: true, 'config-file': [json] }).acl;
  t.is(j.tokens.initialManagement, 'm-secret-2');
  t.is(j.tokens.agentRecovery, 'r-secret-2');
  t.false(redact('token m-secret-2 and a-secret-1').includes('secret'));
  const bad = join(dir, 'c.json');
  writeFileSync(bad, JSON.stringify({ acl: { default_policy: 'maybe' } }));
  t.throws(() => loadAgentConfig({ dev: true, 'config-file': [bad] }), { message: /acl.default_policy must be "allow" or "deny"/ });
  writeFileSync(bad, JSON.stringify({ acl: { tokens: { bogus: 'x' } } }));
  t.throws(() => loadAgentConfig({ dev: true, 'config-file': [bad] }), { message: /unknown acl.tokens key "bogus"/ });
});
