/** acl: the HTTP guard's pieces: token precedence (checklist 5), 403 texts (28), reply filters (25, 26). */
import test from 'ava';
import { deniedText, requestToken } from '../../src/http/acl.ts';
import { filterArray, filterMap } from '../../src/http/acl-table.ts';
import { Authorizer } from '../../src/acl/authorizer.ts';
import { parseRules } from '../../src/acl/rules.ts';
import type { Ctx } from '../../src/http/server.ts';

const ctx = (query: string, headers: Record<string, string>) => ({ query: new URLSearchParams(query), req: { headers } }) as unknown as Ctx;

test('acl guard: token precedence: ?token=, X-Consul-Token, Authorization: Bearer; empty values fall through', t => {
  const cases: [string, Record<string, string>, string][] = [
    ['token=A', { 'x-consul-token': 'B', authorization: 'Bearer C' }, 'A'],
    ['token=', { 'x-consul-token': 'B' }, 'B'],
    ['', { 'x-consul-token': 'B', authorization: 'Bearer C' }, 'B'],
    ['', { 'x-consul-token': '', authorization: 'bearer C' }, 'C'],
    ['', { authorization: 'BEARER  abc def' }, 'abc'],
    ['', { authorization: 'Basic C' }, ''],
    ['', { authorization: 'Bearer' }, ''],
    ['', {}, ''],
  ];
  for (const [q, h, want] of cases) t.is(requestToken(ctx(q, h)), want, `${q} ${JSON.stringify(h)}`);
});

test('acl guard: Permission denied texts', t => {
  t.is(deniedText({ accessor: 'acc-1', anonymous: false }, 'key:write', 'k'), 'Permission denied: token with AccessorID \'acc-1\' lacks permission \'key:write\' on "k"');
  t.is(deniedText({ accessor: 'acc-1', anonymous: false }, 'acl:write'), 'Permission denied: token with AccessorID \'acc-1\' lacks permission \'acl:write\'');
  t.is(deniedText({ accessor: '00000000-0000-0000-0000-000000000002', anonymous: true }, 'key:read', 'foo'), 'Permission denied: anonymous token lacks permission \'key:read\' on "foo". The anonymous token is used implicitly when a request does not specify a token.');
  t.is(deniedText({ accessor: '', anonymous: false }, 'key:read', 'foo'), 'Permission denied', 'down_policy identities have no accessor');
});

test('acl guard: filters report whether something was removed', t => {
  const a = new Authorizer([parseRules('service "web" { policy = "read" }\nnode_prefix "" { policy = "read" }')], false);
  const byKey = filterMap((k, _v, az) => az.allow('service', k, 'read'));
  t.deepEqual(byKey({ web: [], db: [] }, a, undefined as never), { body: { web: [] }, removed: true });
  t.deepEqual(byKey({ web: [] }, a, undefined as never), { body: { web: [] }, removed: false });
  const arr = filterArray((x: any, az) => az.allow('service', x.ServiceName, 'read'));
  t.deepEqual(arr([{ ServiceName: 'db' }], a, undefined as never), { body: [], removed: true });
  t.deepEqual(arr('not a list', a, undefined as never), { body: 'not a list', removed: false });
});
