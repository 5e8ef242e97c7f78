import test from 'ava';
import { HASH_META, OWNER_META, defHash, mergeFiles, ownerId, parseDefinitionText, planSync, servicesOf, withOwner, type ServiceDef } from '../../src/registrar/definitions.ts';

const def = (id: string, body: Record<string, unknown> = {}): ServiceDef => {
  const b = { name: id, port: 80, ...body };
  return { id, name: id, file: `${id}.json`, body: b, hash: defHash(b) };
};

test('registrar: {"service": {...}} and {"services": [...]} forms, case-insensitive keys, ID defaults to name', t => {
  const a = servicesOf({ service: { name: 'web', port: 80 } }, 'a.json');
  t.deepEqual(a.map(d => [d.id, d.name]), [['web', 'web']]);
  const b = servicesOf({ Services: [{ Name: 'db', ID: 'db-1' }, { name: 'cache' }], datacenter: 'dc1' }, 'b.json');
  t.deepEqual(b.map(d => [d.id, d.name]), [['db-1', 'db'], ['cache', 'cache']]);
  t.deepEqual(servicesOf({ log_level: 'debug' }, 'c.json'), []);
});

test('registrar: bad files are rejected with the file name', t => {
  t.throws(() => parseDefinitionText('{"service": {"port": 1}}', 'x.json'), { message: 'x.json: service #1: Missing service name' });
  t.throws(() => parseDefinitionText('{"service": ', 'y.json'), { message: /^y\.json: / });
  t.throws(() => parseDefinitionText('service {\n  name = "web"\n  port =', 'z.hcl'), { message: /^z\.hcl: At \d+:\d+: / });
  t.throws(() => parseDefinitionText('service { name = "a" }\nservice { name = "b" }', 'two.hcl'), { message: 'two.hcl: service: more than one block is not supported here; use "services" blocks for several services' });
  t.throws(() => parseDefinitionText('[1]', 'w.json'), { message: 'w.json: top level must be an object' });
});

test('registrar: the hash ignores key order', t => {
  t.is(defHash({ a: 1, b: { c: 2, d: [1, 2] } }), defHash({ b: { d: [1, 2], c: 2 }, a: 1 }));
  t.not(defHash({ a: 1 }), defHash({ a: 2 }));
});

test('registrar: withOwner adds ownership Meta, keeping the definition Meta whatever its key case', t => {
  const d = def('web', { meta: { env: 'prod' } });
  t.deepEqual(withOwner(d, 'o1'), { name: 'web', port: 80, ID: 'web', Meta: { env: 'prod', [OWNER_META]: 'o1', [HASH_META]: d.hash } });
});

test('registrar: owner ids are stable per folder', t => {
  t.is(ownerId('/tmp/x'), ownerId('/tmp/x/'));
  t.not(ownerId('/tmp/x'), ownerId('/tmp/y'));
  t.regex(ownerId('/tmp/x'), /^[0-9a-f]{12}$/);
});

const cur = (id: string, owner?: string, hash?: string) => [id, { ID: id, Meta: owner ? { [OWNER_META]: owner, ...(hash ? { [HASH_META]: hash } : {}) } : {} }] as const;

test('registrar: plan registers new, skips identical, re-registers changed, removes only owned leftovers', t => {
  const a = def('a');
  const b = def('b', { port: 81 });
  const c = def('c');
  const current = Object.fromEntries([cur('a', 'me', a.hash), cur('b', 'me', 'oldhash'), cur('gone', 'me', 'h'), cur('theirs', 'other', 'h'), cur('manual')]);
  const p = planSync([a, b, c], current, 'me');
  t.deepEqual(p.register.map(d => d.id), ['b', 'c']);
  t.deepEqual(p.deregister, ['gone']);
  t.deepEqual(p.conflicts, []);
  t.is(p.unchanged, 1);
});

test('registrar: an ID owned by another registrar is a conflict; an unowned one is adopted', t => {
  const p = planSync([def('x'), def('manual')], Object.fromEntries([cur('x', 'other', 'h'), cur('manual')]), 'me');
  t.deepEqual(p.conflicts, [{ id: 'x', owner: 'other' }]);
  t.deepEqual(p.register.map(d => d.id), ['manual']);
});

test('registrar: force re-registers identical definitions; an empty folder removes everything owned', t => {
  const a = def('a');
  t.deepEqual(planSync([a], Object.fromEntries([cur('a', 'me', a.hash)]), 'me', true).register.map(d => d.id), ['a']);
  t.deepEqual(planSync([], Object.fromEntries([cur('a', 'me', a.hash), cur('b', 'you', 'h')]), 'me').deregister, ['a']);
});

test('registrar: duplicate IDs across files keep the first file in name order', t => {
  const files = new Map([['b.json', [def('web', { port: 2 })]], ['a.json', [def('web', { port: 1 })]]]);
  const m = mergeFiles(files);
  t.deepEqual(m.defs.map(d => d.body.port), [1]);
  t.is(m.errors.length, 1);
  t.regex(m.errors[0]!, /b\.json: service ID "web" is already defined in a\.json/);
});

test('registrar: HCL definition files give the same registrations as their JSON form', t => {
  const hcl = parseDefinitionText(`
# one service, as in Consul's docs
service {
  name = "web"
  id   = "web-1"
  port = 8080
  tags = ["v1", "primary"]
  meta = {
    version = "1.2"
  }
  check {
    http     = "http://localhost:8080/health"
    interval = "10s"
    header   = { X-Probe = ["roster"] }
  }
}
`, 'web.hcl');
  const json = parseDefinitionText(JSON.stringify({ service: { name: 'web', id: 'web-1', port: 8080, tags: ['v1', 'primary'], meta: { version: '1.2' }, check: { http: 'http://localhost:8080/health', interval: '10s', header: { 'X-Probe': ['roster'] } } } }), 'web.json');
  t.deepEqual(hcl.map(d => ({ ...d, file: '' })), json.map(d => ({ ...d, file: '' })));
  const many = parseDefinitionText(`
services {
  name = "a"
  port = 1
}
services {
  name = "b"
  port = 2
  checks = [
    { ttl = "30s" },
    { tcp = "localhost:2", interval = "5s" },
  ]
}
`, 'many.hcl');
  t.deepEqual(many.map(d => d.id), ['a', 'b']);
  t.deepEqual(many[1]!.body.checks, [{ ttl: '30s' }, { tcp: 'localhost:2', interval: '5s' }]);
});
