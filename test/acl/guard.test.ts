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

test('acl guard: a route that declares nothing needs acl:write; `{ acl }` on the route wins over the table', async t => {
  const { AclResolver } = await import('../../src/acl/resolver.ts');
  const { AclGuard } = await import('../../src/http/acl.ts');
  const { defaultAclConfig } = await import('../../src/config/schema.ts');
  const mk = (acc: string, policies: string[]) => ({ AccessorID: acc, Description: '', Policies: policies.map(ID => ({ ID })), Roles: [], ServiceIdentities: [], NodeIdentities: [], Local: false, CreateTime: '', Hash: '', CreateIndex: 1, ModifyIndex: 1 });
  const tokens: Record<string, ReturnType<typeof mk>> = { reader: mk('r', ['p']), admin: mk('a', ['00000000-0000-0000-0000-000000000001']) };
  const store = { redis: { status: 'ready' }, tokenBySecret: async (s: string) => tokens[s] ?? null };
  const r = new AclResolver(store as never, { ...defaultAclConfig(), enabled: true, defaultPolicy: 'deny' });
  r.policies.set('p', { rec: {} as never, rules: parseRules('service_prefix "" { policy = "read" }\nacl = "read"') });
  const guard = new AclGuard(r, { default: '', agent: '', dns: '', agentRecovery: '' }, { '/declared': { check: () => {} } });
  const handler = async () => ({ body: { ok: true } });
  const c = (token: string) => ({ query: new URLSearchParams(), req: { headers: { 'x-consul-token': token } }, method: 'GET', has: () => false }) as unknown as Ctx;
  await t.throwsAsync(guard.run(c('reader'), '/eureka/v2/apps', undefined, handler), { message: /lacks permission 'acl:write'/ });
  t.deepEqual((await guard.run(c('admin'), '/eureka/v2/apps', undefined, handler)).body, { ok: true });
  t.deepEqual((await guard.run(c('reader'), '/declared', undefined, handler)).body, { ok: true });
  const own = { check: (ctx: Ctx) => { throw new Error(`own check ran for ${(ctx.req.headers as Record<string, string>)['x-consul-token']}`); } };
  await t.throwsAsync(guard.run(c('reader'), '/declared', own, handler), { message: 'own check ran for reader' });
  const err = await t.throwsAsync(guard.run(c('nobody'), '/declared', undefined, handler));
  t.is((err as { status?: number }).status, 403);
  t.is((err as { headers?: Record<string, string> }).headers?.['X-Consul-Default-ACL-Policy'], 'deny');
});

test('acl table: every route the product registers with a literal pattern declares its permission (table row or inline { acl })', async t => {
  const { readdirSync, readFileSync, statSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { aclTable } = await import('../../src/http/acl-table.ts');
  const table = aclTable({} as never);
  const files: string[] = [];
  const walk = (d: string) => { for (const n of readdirSync(d)) { const p = join(d, n); if (statSync(p).isDirectory()) walk(p); else if (p.endsWith('.ts')) files.push(p); } };
  walk(join(import.meta.dirname, '../../src'));
  const undeclared: string[] = [];
  let seen = 0;
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const calls = [...text.matchAll(/\b\w+\.add\(\[[^\]]*\],\s*'([^']+)'/g)];
    for (const [i, m] of calls.entries()) {
      seen++;
      // The call's text runs to the next route registration: an inline `{ acl: ... }` option is in it.
      const body = text.slice(m.index, calls[i + 1]?.index ?? text.length);
      if (!Object.hasOwn(table, m[1]!) && !/\{ acl: /.test(body)) undeclared.push(`${m[1]} (${f.split('/src/')[1]})`);
    }
  }
  t.true(seen > 60, `found ${seen} routes`);
  // Templated patterns (Eureka's bases, agent check verbs) are rows built in a loop; these are spot-checked:
  for (const p of ['/eureka/apps/', '/eureka/v2/apps/', '/eureka/v2/vips/', '/eureka/instances/']) t.true(Object.hasOwn(table, p), p);
  t.deepEqual(undeclared, [], 'a route without a declaration answers 403 to everyone but acl:write tokens once ACLs are on');
});
