import test from 'ava';
import { buildCheck, buildService, buildServiceChecks } from '../../src/http/registration.ts';
import { decode, SERVICE_SCHEMA } from '../../src/http/decode.ts';
import { HttpError } from '../../src/http/server.ts';

const ctx = { node: 'n1', serviceId: 'web1', serviceName: 'web', serviceTags: [], defaultId: 'service:web1', defaultName: "Service 'web' check", standalone: false };

test('registration: JSON field names match case-insensitively and snake aliases are accepted (python-consul style)', t => {
  const d = decode({ name: 'web', id: 'w1', port: 80, tags: ['a'], enable_tag_override: true, check: { http: 'http://x', interval: '10s' } }, SERVICE_SCHEMA);
  const s = buildService(d);
  t.is(s.ID, 'w1');
  t.true(s.EnableTagOverride);
  const checks = buildServiceChecks(d, s, 'n1');
  t.is(checks[0]!.check.CheckID, 'service:w1');
  t.is(checks[0]!.check.Type, 'http');
  t.is(checks[0]!.status, 'critical');
});

test('registration: unknown fields are rejected with Consul\'s message', t => {
  const err = t.throws(() => decode({ Name: 'web', bogus: 1 }, SERVICE_SCHEMA), { instanceOf: HttpError });
  t.is(err!.message, 'Request decode failed: json: unknown field "bogus"');
  t.is((err as HttpError).status, 400);
});

for (const [body, msg] of [
  [{ Port: 80 }, 'Missing service name'],
  [{ Name: 'web', Port: 70000 }, 'Invalid service port 70000: must be between 0 and 65535'],
] as const) {
  test(`registration: ${JSON.stringify(body)} → 400 ${msg}`, t => {
    const err = t.throws(() => buildService(decode(body, SERVICE_SCHEMA)), { instanceOf: HttpError });
    t.is(err!.message, msg);
  });
}

test('registration: several checks get numbered IDs; an explicit Status is kept', t => {
  const d = decode({ Name: 'web', Checks: [{ TTL: '10s' }, { TTL: '5s', Status: 'passing', CheckID: 'mine' }] }, SERVICE_SCHEMA);
  const s = buildService(d);
  const c = buildServiceChecks(d, s, 'n1');
  t.deepEqual(c.map(x => x.check.CheckID), ['service:web:1', 'mine']);
  t.is(c[1]!.status, 'passing');
  t.false(c[1]!.keep);
  t.is(c[0]!.ttlMs, 10_000);
});

for (const [def, msg] of [
  [{ HTTP: 'http://x' }, 'Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP or UDP checks'],
  [{}, 'Invalid check: TTL must be > 0 for TTL checks'],
  [{ TTL: '10s', Interval: '10s' }, 'Invalid check: Interval and TTL cannot both be specified'],
] as const) {
  test(`registration: check ${JSON.stringify(def)} → ${msg}`, t => {
    const err = t.throws(() => buildCheck(def as Record<string, unknown>, ctx), { instanceOf: HttpError });
    t.is(err!.message, msg);
  });
}

test('registration: durations are normalised to Go form and decimals/compounds are accepted', t => {
  const d = decode({ Name: 'web', Check: { HTTP: 'http://x', Interval: '1.5s', Timeout: '120000ms', DeregisterCriticalServiceAfter: '1m30s' } }, SERVICE_SCHEMA);
  const c = buildServiceChecks(d, buildService(d), 'n1')[0]!;
  t.is(c.check.Interval, '1.5s');
  t.is(c.check.Definition.Timeout, '2m0s');
  t.is(c.check.Definition.DeregisterCriticalServiceAfter, '1m30s');
});
