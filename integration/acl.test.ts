/**
 * ACLs against real agents on a real Redis (reference consul-acl.md §14 checklist): bootstrap and
 * reset, token precedence, ACL endpoints and their error texts, rule precedence at the HTTP layer,
 * filtering with X-Consul-Results-Filtered-By-ACLs, KV/txn/catalog/agent enforcement, DNS with
 * the default token, propagation to a second agent within a second, and no secret in Redis's
 * files or the agent's log.
 */
import test from 'ava';
import { readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, type TestAgent } from './helpers/agent.ts';
import { testRedis } from './helpers/redis.ts';
import { dig } from './helpers/dig.ts';
import { until } from './helpers/wait.ts';

const MGMT = '3f1a7c2e-5b6d-4e8f-9a0b-1c2d3e4f5a6b';
let redis: Awaited<ReturnType<typeof testRedis>>;
let a: TestAgent;
let b: TestAgent;

type Opts = { token?: string; headers?: Record<string, string>; body?: unknown };
async function call(ag: TestAgent, method: string, path: string, o: Opts = {}) {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token !== undefined) headers['X-Consul-Token'] = o.token;
  const res = await fetch(ag.http + path, { method, headers, body: o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body) });
  const text = await res.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}
const m = (method: string, path: string, body?: unknown) => call(a, method, path, { token: MGMT, body });

async function policy(name: string, rules: string): Promise<string> {
  const r = await m('PUT', '/v1/acl/policy', { Name: name, Rules: rules });
  if (r.status !== 200) throw new Error(`policy ${name}: ${r.status} ${r.text}`);
  return r.json.ID;
}
async function token(policies: string[], description = ''): Promise<{ secret: string; accessor: string }> {
  const r = await m('PUT', '/v1/acl/token', { Description: description, Policies: policies.map(Name => ({ Name })) });
  if (r.status !== 200) throw new Error(`token: ${r.status} ${r.text}`);
  return { secret: r.json.SecretID, accessor: r.json.AccessorID };
}

function config(dir: string, acl: Record<string, unknown>): string {
  const f = join(dir, 'acl.json');
  writeFileSync(f, JSON.stringify({ acl }));
  return f;
}

test.before(async () => {
  redis = await testRedis();
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const d1 = mkdtempSync(join(tmpdir(), 'roster-acl-a-'));
  const d2 = mkdtempSync(join(tmpdir(), 'roster-acl-b-'));
  a = await startAgent(null, { redis: redis.url, dataDir: d1, args: ['-config-file', config(d1, { enabled: true, default_policy: 'deny', tokens: { initial_management: MGMT } })] });
  b = await startAgent(null, { redis: redis.url, dataDir: d2, args: ['-config-file', config(d2, { enabled: true, default_policy: 'deny', enable_token_persistence: true })] });
});
test.after.always(async () => { await a?.stop(); await b?.stop(); await redis?.stop(); });

test.serial('acl: bootstrap is refused once the initial management token exists; reset file with the wrong and right index', async t => {
  const r = await call(a, 'PUT', '/v1/acl/bootstrap');
  t.is(r.status, 403);
  const idx = /reset index: (\d+)\)/.exec(r.text)?.[1];
  t.truthy(idx, r.text);
  t.true(r.text.startsWith('Permission denied: ACL bootstrap no longer allowed (reset index: '));
  writeFileSync(join(a.dataDir, 'acl-bootstrap-reset'), '999999');
  const bad = await call(a, 'PUT', '/v1/acl/bootstrap');
  t.is(bad.status, 500);
  t.regex(bad.text, /^Invalid bootstrap reset index \(specified 999999, reset index: \d+\)/);
  writeFileSync(join(a.dataDir, 'acl-bootstrap-reset'), idx!);
  const ok = await call(a, 'PUT', '/v1/acl/bootstrap');
  t.is(ok.status, 200, ok.text);
  t.is(ok.json.ID, ok.json.SecretID);
  t.is(ok.json.Description, 'Bootstrap Token (Global Management)');
  t.deepEqual(ok.json.Policies, [{ ID: '00000000-0000-0000-0000-000000000001', Name: 'global-management' }]);
  t.false(existsSync(join(a.dataDir, 'acl-bootstrap-reset')));
  t.is((await call(a, 'PUT', '/v1/acl/bootstrap')).status, 403);
  // the bootstrap token works on the other agent too
  t.is((await call(b, 'GET', '/v1/acl/policies', { token: ok.json.SecretID })).status, 200);
});

test.serial('acl: token precedence, unknown secret, anonymous', async t => {
  await policy('prec-a', 'key "prec" { policy = "write" }');
  const A = await token(['prec-a']);
  const B = await token([]);
  // ?token= beats X-Consul-Token
  t.is((await call(a, 'PUT', `/v1/kv/prec?token=${A.secret}`, { token: B.secret, body: 'x' })).status, 200);
  // X-Consul-Token beats Authorization: Bearer
  t.is((await call(a, 'PUT', '/v1/kv/prec', { token: B.secret, headers: { Authorization: `Bearer ${A.secret}` }, body: 'x' })).status, 403);
  t.is((await call(a, 'PUT', '/v1/kv/prec', { headers: { authorization: `bearer ${A.secret}` }, body: 'x' })).status, 200);
  t.is((await call(a, 'PUT', '/v1/kv/prec', { headers: { Authorization: `Basic ${A.secret}` }, body: 'x' })).status, 403);
  // empty ?token= falls through
  t.is((await call(a, 'PUT', '/v1/kv/prec?token=', { token: A.secret, body: 'x' })).status, 200);
  const nf = await call(a, 'GET', '/v1/catalog/nodes', { token: 'not-a-real-token' });
  t.is(nf.status, 403);
  t.is(nf.text, 'ACL not found');
  const self = await call(a, 'GET', '/v1/acl/token/self', { token: 'anonymous' });
  t.is(self.json.AccessorID, '00000000-0000-0000-0000-000000000002');
  const anon = await call(a, 'GET', '/v1/kv/prec');
  t.is(anon.status, 403);
  t.regex(anon.text, /^Permission denied: anonymous token lacks permission 'key:read' on "prec"/);
  t.is((await call(a, 'GET', '/v1/status/leader')).status, 200);
  const met = await call(a, 'GET', '/v1/agent/metrics');
  t.is(met.status, 403);
  t.is(met.headers.get('x-consul-default-acl-policy'), 'deny', 'errors carry the header too');
  t.is((await call(a, 'GET', '/v1/status/leader')).headers.get('x-consul-default-acl-policy'), 'deny');
});

test.serial('acl: token list, read and SecretID redaction; acl:read-only token', async t => {
  await policy('acl-reader', 'acl = "read"');
  const R = await token(['acl-reader']);
  const list = await call(a, 'GET', '/v1/acl/tokens', { token: R.secret });
  t.is(list.status, 200);
  t.true(list.json.some((x: any) => x.AccessorID === '00000000-0000-0000-0000-000000000002'));
  t.true(list.json.some((x: any) => x.Description === 'Bootstrap Token (Global Management)'));
  t.true(list.json.every((x: any) => x.SecretID === '<hidden>'));
  t.is((await call(a, 'PUT', '/v1/acl/token', { token: R.secret, body: {} })).status, 403);
  const read = await call(a, 'GET', `/v1/acl/token/${R.accessor}`, { token: R.secret });
  t.is(read.json.Policies[0].Name, 'acl-reader');
  const unknown = await m('GET', '/v1/acl/token/6a1b2c3d-0000-4000-8000-000000000000');
  t.is(unknown.status, 404);
  t.is(unknown.text, 'Requested token does not exist: ACL not found');
});

test.serial('acl: policy create/read/list/rename/delete and their errors', async t => {
  const id = await policy('pol-x', '');
  const dup = await m('PUT', '/v1/acl/policy', { Name: 'pol-x' });
  t.is(dup.status, 500);
  t.is(dup.text, 'Invalid Policy: A Policy with Name "pol-x" already exists');
  const withId = await m('PUT', '/v1/acl/policy', { ID: id, Name: 'other' });
  t.is(withId.status, 400);
  t.is(withId.text, 'Cannot specify the ID when creating a new policy');
  t.regex((await m('PUT', '/v1/acl/policy', { Name: 'a b' })).text, /^Invalid Policy: invalid Name/);
  const badRules = await m('PUT', '/v1/acl/policy', { Name: 'bad-rules', Rules: 'key "x" {policy="yes"}' });
  t.is(badRules.status, 500);
  t.regex(badRules.text, /^Invalid key policy/);
  const gm = await m('GET', '/v1/acl/policy/name/global-management');
  t.is(gm.json.ID, '00000000-0000-0000-0000-000000000001');
  t.truthy(gm.json.Rules);
  const stubs = (await m('GET', '/v1/acl/policies')).json;
  const stub = stubs.find((p: any) => p.Name === 'pol-x');
  t.is(stub.Datacenters, null);
  t.false('Rules' in stub);
  const del = await m('DELETE', '/v1/acl/policy/00000000-0000-0000-0000-000000000001');
  t.is(del.status, 500);
  t.is(del.text, 'Delete operation not permitted on the builtin global-management policy');
  // token links: unknown name, Name+ID in the answer, renames show up
  const nope = await m('PUT', '/v1/acl/token', { Policies: [{ Name: 'nope' }] });
  t.is(nope.status, 500);
  t.is(nope.text, 'No such ACL policy with name "nope"');
  const tok = await token(['pol-x']);
  const upd = await m('PUT', `/v1/acl/policy/${id}`, { Name: 'pol-renamed' });
  t.is(upd.status, 200, upd.text);
  const read = await m('GET', `/v1/acl/token/${tok.accessor}`);
  t.deepEqual(read.json.Policies, [{ ID: id, Name: 'pol-renamed' }]);
  t.is((await m('PUT', `/v1/acl/policy/${id}`, { ID: 'other', Name: 'x' })).text, 'Policy ID in URL and payload do not match');
  t.deepEqual((await m('DELETE', `/v1/acl/policy/${id}`)).json, true);
  t.false('Policies' in (await m('GET', `/v1/acl/token/${tok.accessor}`)).json, 'a deleted policy drops out of its tokens');
});

test.serial('acl: token update, clone, delete rules', async t => {
  await policy('clone-p', '');
  const tok = await token(['clone-p'], 'orig');
  const sec = await m('PUT', `/v1/acl/token/${tok.accessor}`, { SecretID: '7b1b2c3d-0000-4000-8000-000000000001', Description: 'x' });
  t.is(sec.status, 500);
  t.is(sec.text, 'Changing a token\'s SecretID is not permitted');
  const mis = await m('PUT', `/v1/acl/token/${tok.accessor}`, { AccessorID: '7b1b2c3d-0000-4000-8000-000000000002' });
  t.is(mis.status, 400);
  t.is(mis.text, 'Token Accessor ID in URL and payload do not match');
  const ok = await m('PUT', `/v1/acl/token/${tok.accessor}`, { SecretID: tok.secret, Description: 'updated', Policies: [{ Name: 'clone-p' }] });
  t.is(ok.status, 200, ok.text);
  t.is(ok.json.Description, 'updated');
  t.is((await call(a, 'GET', '/v1/acl/token/self', { token: tok.secret })).json.Description, 'updated', 'the secret still works');
  const cl = await m('PUT', `/v1/acl/token/${tok.accessor}/clone`, { Description: 'copy' });
  t.is(cl.status, 200, cl.text);
  t.not(cl.json.AccessorID, tok.accessor);
  t.not(cl.json.SecretID, tok.secret);
  t.is(cl.json.Description, 'copy');
  t.is(cl.json.Policies[0].Name, 'clone-p');
  t.is((await m('DELETE', '/v1/acl/token/00000000-0000-0000-0000-000000000002')).text, 'Delete operation not permitted on the anonymous token');
  const mgmtSelf = (await m('GET', '/v1/acl/token/self')).json.AccessorID;
  t.is((await m('DELETE', `/v1/acl/token/${mgmtSelf}`)).text, 'Deletion of the request\'s authorization token is not permitted');
  t.deepEqual((await m('DELETE', '/v1/acl/token/8c1b2c3d-0000-4000-8000-000000000003')).json, true);
  t.deepEqual((await m('DELETE', `/v1/acl/token/${cl.json.AccessorID}`)).json, true);
  const exp = await m('PUT', '/v1/acl/token', { ExpirationTTL: '5m' });
  t.is(exp.status, 200, exp.text);
  t.true(Math.abs(Date.parse(exp.json.ExpirationTime) - Date.now() - 300_000) < 10_000);
  t.regex((await m('PUT', '/v1/acl/token', { ExpirationTTL: '10s' })).text, /^ExpirationTime cannot be less than 1m0s in the future/);
  t.is((await m('PUT', '/v1/acl/token', { ExpirationTTL: '1m', ExpirationTime: '2030-01-01T00:00:00Z' })).text, 'Token Expiration TTL and Expiration Time cannot both be set');
  t.is((await m('PUT', '/v1/acl/token', { AccessorID: 'not-a-uuid' })).text, 'Invalid Token: AccessorID - not a valid UUID');
  t.regex((await m('PUT', '/v1/acl/token', { SecretID: '00000000-0000-0000-0000-000000000099' })).text, /^Invalid Token: SecretID - UUIDs with the prefix "00000000-0000-0000-0000-0000000000" are reserved/);
  t.is((await m('PUT', '/v1/acl/token', '{bad')).status, 400);
  t.is((await call(a, 'GET', '/v1/catalog/nodes', { token: 'manage' })).text, 'Cannot resolve root ACL');
  t.is((await call(a, 'GET', '/v1/acl/token/self', { token: cl.json.SecretID })).status, 404);
});

test.serial('acl: roles carry policies to their tokens', async t => {
  await policy('role-p', 'key "rolekey" { policy = "write" }');
  const role = await m('PUT', '/v1/acl/role', { Name: 'writer', Policies: [{ Name: 'role-p' }] });
  t.is(role.status, 200, role.text);
  t.deepEqual(role.json.Policies[0].Name, 'role-p');
  const tok = await m('PUT', '/v1/acl/token', { Roles: [{ Name: 'writer' }] });
  t.is(tok.json.Roles[0].Name, 'writer');
  t.is((await call(a, 'PUT', '/v1/kv/rolekey', { token: tok.json.SecretID, body: 'v' })).status, 200);
  t.is((await m('GET', '/v1/acl/role/name/writer')).json.ID, role.json.ID);
  t.is((await m('GET', '/v1/acl/roles')).json.length >= 1, true);
  t.deepEqual((await m('DELETE', `/v1/acl/role/${role.json.ID}`)).json, true);
  t.is((await call(a, 'PUT', '/v1/kv/rolekey', { token: tok.json.SecretID, body: 'v' })).status, 403, 'role gone: its policies are gone');
});

test.serial('acl: KV exact vs prefix, longest prefix, recurse filtering, DELETE recurse, txn per op', async t => {
  await m('PUT', '/v1/kv/ex/a', 'A');
  await m('PUT', '/v1/kv/ex/b', 'B');
  await policy('kv-exact', 'key_prefix "" { policy = "deny" }\nkey "ex/a" { policy = "read" }');
  const E = await token(['kv-exact']);
  t.is((await call(a, 'GET', '/v1/kv/ex/a', { token: E.secret })).status, 200);
  t.is((await call(a, 'GET', '/v1/kv/ex/b', { token: E.secret })).status, 403);
  t.is((await call(a, 'GET', '/v1/kv/ex/missing', { token: E.secret })).status, 403, 'denied before the lookup');
  await policy('kv-long', 'key_prefix "lp/" { policy = "write" }\nkey_prefix "lp/b/" { policy = "read" }\nkey "lp/z" { policy = "read" }');
  const L = await token(['kv-long']);
  t.is((await call(a, 'PUT', '/v1/kv/lp/x', { token: L.secret, body: '1' })).status, 200);
  const den = await call(a, 'PUT', '/v1/kv/lp/b/x', { token: L.secret, body: '1' });
  t.is(den.status, 403);
  t.is(den.text, `Permission denied: token with AccessorID '${L.accessor}' lacks permission 'key:write' on "lp/b/x"`);
  await m('PUT', '/v1/kv/lp/b/y', 'Y');
  await m('PUT', '/v1/kv/other', 'O');
  const rec = await call(a, 'GET', '/v1/kv/?recurse', { token: L.secret });
  t.is(rec.status, 200);
  t.deepEqual(rec.json.map((e: any) => e.Key).sort(), ['lp/b/y', 'lp/x']);
  t.is(rec.headers.get('x-consul-results-filtered-by-acls'), 'true');
  t.deepEqual((await call(a, 'GET', '/v1/kv/?keys', { token: L.secret })).json.sort(), ['lp/b/y', 'lp/x']);
  t.is((await call(a, 'GET', '/v1/kv/other?recurse', { token: L.secret })).status, 404, 'all filtered: the normal 404');
  // a value that looks like a key list is the user's bytes, not something to filter
  await m('PUT', '/v1/kv/lp/json', '["other","secret/x"]');
  t.is((await call(a, 'GET', '/v1/kv/lp/json?raw', { token: L.secret })).text, '["other","secret/x"]');
  t.is(Buffer.from((await call(a, 'GET', '/v1/kv/lp/json', { token: L.secret })).json[0].Value, 'base64').toString(), '["other","secret/x"]');
  t.is((await call(a, 'DELETE', '/v1/kv/lp/?recurse', { token: L.secret })).status, 403, 'an exact read rule under the prefix');
  // txn: every operation is checked
  const ok = await call(a, 'PUT', '/v1/txn', { token: L.secret, body: [{ KV: { Verb: 'set', Key: 'lp/t', Value: 'eA==' } }, { KV: { Verb: 'get', Key: 'lp/b/y' } }] });
  t.is(ok.status, 200, ok.text);
  const no = await call(a, 'PUT', '/v1/txn', { token: L.secret, body: [{ KV: { Verb: 'set', Key: 'lp/t2', Value: 'eA==' } }, { KV: { Verb: 'set', Key: 'lp/b/t', Value: 'eA==' } }] });
  t.is(no.status, 403);
  t.is((await m('GET', '/v1/kv/lp/t2')).status, 404, 'nothing of a refused txn was written');
});

test.serial('acl: catalog filtering with the header, register needs node:write for a new node, default deny on services', async t => {
  await m('PUT', '/v1/catalog/register', { Node: 'ext1', Address: '10.0.0.1', Service: { Service: 'web', Port: 80 } });
  await m('PUT', '/v1/catalog/register', { Node: 'ext1', Address: '10.0.0.1', Service: { Service: 'db', Port: 5432 } });
  await policy('web-read', 'service "web" { policy = "read" }\nnode_prefix "" { policy = "read" }');
  const W = await token(['web-read']);
  const s = await call(a, 'GET', '/v1/catalog/services', { token: W.secret });
  t.deepEqual(Object.keys(s.json), ['web']);
  t.is(s.headers.get('x-consul-results-filtered-by-acls'), 'true');
  const anon = await call(a, 'GET', '/v1/catalog/services');
  t.deepEqual(anon.json, {});
  t.is(anon.headers.get('x-consul-results-filtered-by-acls'), null, 'no token: no header');
  const hs = await call(a, 'GET', '/v1/health/service/db', { token: W.secret });
  t.deepEqual(hs.json, []);
  t.is((await call(a, 'GET', '/v1/health/service/web', { token: W.secret })).json.length, 1);
  // a blocking query stays filtered when it wakes
  const idx = hs.headers.get('x-consul-index');
  const pending = call(a, 'GET', `/v1/health/service/db?index=${idx}&wait=5s`, { token: W.secret });
  await m('PUT', '/v1/catalog/register', { Node: 'ext2', Address: '10.0.0.2', Service: { Service: 'db', Port: 5432 } });
  t.deepEqual((await pending).json, []);
  await policy('svc-only', 'service "api" { policy = "write" }');
  const S = await token(['svc-only']);
  const reg = { Node: 'ext3', Address: '10.0.0.3', Service: { Service: 'api', Port: 1 } };
  t.is((await call(a, 'PUT', '/v1/catalog/register', { token: S.secret, body: reg })).status, 403, 'new node needs node:write');
  await m('PUT', '/v1/catalog/register', reg);
  t.is((await call(a, 'PUT', '/v1/catalog/register', { token: S.secret, body: reg })).status, 200, 'same node unchanged: service:write suffices');
  t.is((await call(a, 'PUT', '/v1/catalog/register', { token: S.secret, body: { ...reg, Service: { Service: 'other', Port: 2 } } })).status, 403);
});

test.serial('acl: agent endpoints and PUT /v1/agent/token', async t => {
  t.is((await call(a, 'PUT', '/v1/agent/token/bogus', { token: MGMT, body: { Token: 'x' } })).text, 'Token "bogus" is unknown');
  t.is((await call(a, 'PUT', '/v1/agent/leave', { token: 'anonymous' })).status, 403);
  t.is((await call(a, 'PUT', '/v1/agent/service/register', { body: { Name: 'x' } })).status, 403);
  await policy('agent-r', `agent "${a.node}" { policy = "read" }`);
  const R = await token(['agent-r']);
  t.is((await call(a, 'GET', '/v1/agent/self', { token: R.secret })).status, 200);
  t.is((await call(a, 'GET', '/v1/agent/metrics', { token: R.secret })).status, 200);
  // default token: token-less requests use it at once
  await policy('kv-def', 'key "def" { policy = "write" }');
  const D = await token(['kv-def']);
  t.is((await call(a, 'PUT', '/v1/kv/def', { body: 'v' })).status, 403);
  t.is((await call(a, 'PUT', '/v1/agent/token/default', { token: MGMT, body: { Token: D.secret } })).status, 200);
  t.is((await call(a, 'PUT', '/v1/kv/def', { body: 'v' })).status, 200);
  t.is((await call(a, 'PUT', '/v1/agent/token/default', { token: MGMT, body: { Token: '' } })).status, 200);
});

test.serial('acl: DNS answers what the default token may read', async t => {
  await m('PUT', '/v1/catalog/register', { Node: 'dnsnode', Address: '10.9.0.1', Service: { Service: 'dnsweb', Port: 80 } });
  t.is((await dig(b.dnsPort, 'dnsweb.service.consul')).status, 'NXDOMAIN');
  await policy('dns-read', 'service "dnsweb" { policy = "read" }\nnode_prefix "" { policy = "read" }');
  const D = await token(['dns-read']);
  t.is((await call(b, 'PUT', '/v1/agent/token/default', { token: MGMT, body: { Token: D.secret } })).status, 200);
  const r = await until('dns answers', async () => { const x = await dig(b.dnsPort, 'dnsweb.service.consul'); return x.status === 'NOERROR' ? x : undefined; }, 5000);
  t.is(r.answer[0]!.data, '10.9.0.1');
  t.is((await dig(b.dnsPort, 'dnsnode.node.consul')).status, 'NOERROR');
  // persisted (enable_token_persistence) in the data dir, 0600
  const f = join(b.dataDir, 'acl-tokens.json');
  t.is(statSync(f).mode & 0o777, 0o600);
});

test.serial('acl: DNS reverse lookups and prepared-query names show only what the DNS token may read', async t => {
  // dnsnode (10.9.0.1) and its dnsweb instance exist from the test before; add what this token may not read.
  const reg = async (body: unknown) => t.is((await m('PUT', '/v1/catalog/register', body)).status, 200);
  await reg({ Node: 'dnsnode', Address: '10.9.0.1', Service: { ID: 'dnsweb-2', Service: 'dnsweb', Address: '10.9.0.4', Port: 81 } });
  await reg({ Node: 'dnsnode', Address: '10.9.0.1', Service: { ID: 'hidden-1', Service: 'hidden', Address: '10.9.0.3', Port: 82 } });
  await reg({ Node: 'darknode', Address: '10.9.0.5', Service: { ID: 'dnsweb-dark', Service: 'dnsweb', Address: '10.9.0.6', Port: 83 } });
  t.is((await m('POST', '/v1/query', { Name: 'qweb', Service: { Service: 'dnsweb' } })).status, 200);
  t.is((await m('POST', '/v1/query', { Name: 'qhidden', Service: { Service: 'hidden' } })).status, 200);
  await policy('dns-narrow', 'service "dnsweb" { policy = "read" }\nnode "dnsnode" { policy = "read" }');
  const N = await token(['dns-narrow']);
  const before = (await call(b, 'GET', '/v1/agent/self', { token: MGMT })).status;
  t.is(before, 200);
  t.is((await call(b, 'PUT', '/v1/agent/token/default', { token: MGMT, body: { Token: N.secret } })).status, 200);
  try {
    const ptr = (ip: string) => dig(b.dnsPort, `${ip.split('.').reverse().join('.')}.in-addr.arpa`, 'PTR');
    // The node it may read: answered; a node it may not read, and an instance of a service it may not read: NXDOMAIN.
    await until('the narrow token is in use', async () => (await ptr('10.9.0.5')).status === 'NXDOMAIN', 5000);
    const n = await ptr('10.9.0.1');
    t.is(n.status, 'NOERROR');
    t.is(n.answer[0]?.data, 'dnsnode.node.dc1.consul.');
    t.is((await ptr('10.9.0.3')).status, 'NXDOMAIN', 'hidden service instance');
    const s = await ptr('10.9.0.4');
    t.is(s.answer[0]?.data, 'dnsweb.service.dc1.consul.');
    t.is((await ptr('10.9.0.6')).status, 'NXDOMAIN', 'a readable service on a node it may not read');
    // Prepared queries answer with what the token may read: no instance of hidden, none on darknode.
    // (agent b's in-memory copy of the queries follows a's writes within a moment)
    const q = await until('qweb answers on b', async () => { const x = await dig(b.dnsPort, 'qweb.query.consul', 'A'); return x.status === 'NOERROR' ? x : undefined; }, 5000);
    t.deepEqual(q.answer.map(r => r.data).sort(), ['10.9.0.1', '10.9.0.4']);
    t.is((await dig(b.dnsPort, 'qhidden.query.consul', 'A')).status, 'NXDOMAIN');
    // The same names with a token that may read everything: all of it.
    t.is((await call(b, 'PUT', '/v1/agent/token/default', { token: MGMT, body: { Token: MGMT } })).status, 200);
    await until('the management token is in use', async () => (await ptr('10.9.0.5')).status === 'NOERROR', 5000);
    t.deepEqual((await dig(b.dnsPort, 'qweb.query.consul', 'A')).answer.map(r => r.data).sort(), ['10.9.0.1', '10.9.0.4', '10.9.0.6']);
    t.is((await dig(b.dnsPort, 'qhidden.query.consul', 'A')).status, 'NOERROR');
  } finally {
    const D = await token(['dns-read']);
    await call(b, 'PUT', '/v1/agent/token/default', { token: MGMT, body: { Token: D.secret } });
  }
});

test.serial('acl: a new policy reaches the other agent within a second', async t => {
  const p = await policy('prop', 'key "prop" { policy = "read" }');
  const T = await token(['prop']);
  await m('PUT', '/v1/kv/prop', 'v');
  t.is((await call(b, 'GET', '/v1/kv/prop', { token: T.secret })).status, 200);
  t.is((await call(b, 'PUT', '/v1/kv/prop', { token: T.secret, body: 'w' })).status, 403);
  const t0 = Date.now();
  await m('PUT', `/v1/acl/policy/${p}`, { Name: 'prop', Rules: 'key "prop" { policy = "write" }' });
  await until('agent b sees the change', async () => (await call(b, 'PUT', '/v1/kv/prop', { token: T.secret, body: 'w' })).status === 200, 3000);
  t.true(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
  t.log(`policy change seen by the other agent after ${Date.now() - t0} ms`);
  await m('DELETE', `/v1/acl/token/${T.accessor}`);
  const t1 = Date.now();
  const gone = await until('agent b forgets the token', async () => { const r = await call(b, 'GET', '/v1/kv/prop', { token: T.secret }); return r.text === 'ACL not found' ? r : undefined; }, 3000);
  t.is(gone.status, 403);
  t.true(Date.now() - t1 < 1000, `took ${Date.now() - t1} ms`);
  t.log(`token deletion seen by the other agent after ${Date.now() - t1} ms`);
});

test.serial('acl: legacy endpoints are gone (410)', async t => {
  const r = await m('PUT', '/v1/acl/create', {});
  t.is(r.status, 410);
  t.regex(r.text, /legacy ACL system was removed/);
});

test.serial('acl: no secret in Redis\'s data files or the agent log', async t => {
  // every secret the tests created, plus the management token
  const secrets = new Set<string>([MGMT]);
  await policy('big-writer', 'key "big" { policy = "write" }');
  const tok = await token(['big-writer'], 'probe');
  secrets.add(tok.secret);
  // requests that make the agent log their URL (a 413 body-limit line names the path and query)
  const big = await call(a, 'PUT', `/v1/kv/big?token=${tok.secret}`, { body: 'x'.repeat(600 * 1024) });
  t.is(big.status, 413);
  await call(a, 'PUT', `/v1/agent/force-leave/x?token=${tok.secret}`);
  await until('the limit line is logged', async () => /request body over the limit/.test(a.log()) || undefined, 5000);
  // force Redis to write both persistence forms
  const { Redis } = await import('ioredis');
  const c = new Redis(redis.url);
  await c.bgrewriteaof().catch(() => undefined);
  await c.save().catch(() => undefined);
  await new Promise(r => setTimeout(r, 500));
  c.disconnect();
  const files: string[] = [];
  const walk = (d: string) => { for (const n of readdirSync(d)) { const p = join(d, n); if (statSync(p).isDirectory()) walk(p); else files.push(p); } };
  walk(redis.dir);
  t.true(files.length > 0);
  for (const f of files) {
    const data = readFileSync(f).toString('latin1');
    for (const s of secrets) t.false(data.includes(s), `${f} holds a secret`);
  }
  for (const s of secrets) {
    t.false(a.log().includes(s), 'agent a log');
    t.false(b.log().includes(s), 'agent b log');
  }
});

test('acl: disabled ACLs answer 401 on /v1/acl/*, everything else is allowed', async t => {
  const x = await startAgent(t);
  const r = await x.req('GET', '/v1/acl/policies');
  t.is(r.status, 401);
  t.is(r.text, 'ACL support disabled');
  t.is((await x.req('PUT', '/v1/kv/free', 'v')).status, 200);
  t.is((await x.req('PUT', '/v1/agent/token/default', { Token: 'x' })).status, 401);
  t.is((await x.req('PUT', '/v1/acl/bootstrap')).text, 'ACL support disabled');
});

test('acl: default_policy allow, deny rule for one service; enable_key_list_policy', async t => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const d = mkdtempSync(join(tmpdir(), 'roster-acl-c-'));
  const x = await startAgent(t, { dataDir: d, args: ['-config-file', config(d, { enabled: true, default_policy: 'allow', enable_key_list_policy: true, tokens: { initial_management: MGMT } })] });
  const mx = (method: string, path: string, body?: unknown) => call(x, method, path, { token: MGMT, body });
  await mx('PUT', '/v1/acl/policy', { Name: 'no-db', Rules: 'service "db" { policy = "deny" }\nkey_prefix "p/" { policy = "list" }\nkey_prefix "q/" { policy = "read" }' });
  const T = (await mx('PUT', '/v1/acl/token', { Policies: [{ Name: 'no-db' }] })).json.SecretID;
  t.is((await call(x, 'PUT', '/v1/agent/service/register', { token: T, body: { Name: 'db' } })).status, 403);
  t.is((await call(x, 'PUT', '/v1/agent/service/register', { token: T, body: { Name: 'web' } })).status, 200);
  await mx('PUT', '/v1/kv/p/1', 'v');
  await mx('PUT', '/v1/kv/q/1', 'v');
  t.is((await call(x, 'GET', '/v1/kv/p/?recurse', { token: T })).status, 200);
  t.is((await call(x, 'GET', '/v1/kv/q/?recurse', { token: T })).status, 403, 'list needed on the prefix');
});

test('acl: before bootstrap an unknown token says so; bootstrap once, with BootstrapSecret', async t => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const d = mkdtempSync(join(tmpdir(), 'roster-acl-d-'));
  const x = await startAgent(t, { dataDir: d, args: ['-config-file', config(d, { enabled: true, default_policy: 'deny' })] });
  const r = await call(x, 'GET', '/v1/catalog/nodes', { token: 'whatever' });
  t.is(r.status, 403);
  t.is(r.text, 'ACL system must be bootstrapped before making any requests that require authorization: ACL not found');
  const secret = '0f1e2d3c-4b5a-4697-8877-665544332211';
  const b1 = await call(x, 'PUT', '/v1/acl/bootstrap', { body: { BootstrapSecret: secret } });
  t.is(b1.status, 200, b1.text);
  t.is(b1.json.SecretID, secret);
  t.is((await call(x, 'GET', '/v1/catalog/nodes', { token: 'whatever' })).text, 'ACL not found');
  t.is((await call(x, 'GET', '/v1/acl/policies', { token: secret })).status, 200);
});

test('acl: Eureka, prepared queries and the internal UI endpoints are guarded like the rest', async t => {
  const inst = (app: string) => ({ instance: { instanceId: `${app}-1`, hostName: 'h', app: app.toUpperCase(), ipAddr: '10.9.0.1', vipAddress: app, status: 'UP', port: { $: 8080, '@enabled': 'true' }, dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' } } });
  const json = { 'Content-Type': 'application/json', Accept: 'application/json' };
  // Eureka clients send no token: anonymous under default deny may not register or read.
  t.is((await call(a, 'POST', '/eureka/apps/ORDERS', { headers: json, body: inst('orders') })).status, 403);
  t.is((await call(a, 'GET', '/eureka/apps', { headers: json })).status, 403);
  await policy('eureka-orders', 'service "orders" { policy = "write" }\nservice_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }');
  const tok = await token(['eureka-orders']);
  t.is((await call(a, 'POST', '/eureka/apps/ORDERS', { headers: json, body: inst('orders'), token: tok.secret })).status, 204);
  t.is((await call(a, 'POST', '/eureka/apps/BILLING', { headers: json, body: inst('billing'), token: tok.secret })).status, 403, 'service:write on orders only');
  t.is((await call(a, 'GET', '/eureka/v2/apps/ORDERS', { headers: json, token: tok.secret })).status, 200);
  // The internal UI listing is filtered, not refused.
  await policy('ui-orders', 'service "orders" { policy = "read" }\nnode_prefix "" { policy = "read" }');
  const ui = await call(a, 'GET', '/v1/internal/ui/services', { token: (await token(['ui-orders'])).secret });
  t.is(ui.status, 200);
  t.deepEqual((ui.json as { Name: string }[]).map(s => s.Name), ['orders']);
  t.is(ui.headers.get('X-Consul-Results-Filtered-By-ACLs'), 'true');
  // A prepared query: created with query:write on its name, read by ID with query:read, refused without.
  const q = await m('POST', '/v1/query', { Name: 'orders-q', Service: { Service: 'orders' } });
  t.is(q.status, 200, q.text);
  t.is((await call(a, 'GET', `/v1/query/${q.json.ID}`, { token: tok.secret })).status, 403);
  await policy('q-read', 'query "orders-q" { policy = "read" }\nservice "orders" { policy = "read" }\nnode_prefix "" { policy = "read" }');
  const qr = await token(['q-read']);
  t.is((await call(a, 'GET', `/v1/query/${q.json.ID}`, { token: qr.secret })).status, 200);
  const ex = await call(a, 'GET', '/v1/query/orders-q/execute', { token: qr.secret });
  t.is(ex.status, 200, ex.text);
  t.is((await call(a, 'DELETE', `/v1/query/${q.json.ID}`, { token: qr.secret })).status, 403);
  t.is((await m('DELETE', `/v1/query/${q.json.ID}`)).status, 200);
  t.is((await call(a, 'GET', '/v1/agent/host', { token: qr.secret })).status, 403, 'agent/host needs operator:read');
  t.is((await m('GET', '/v1/agent/host')).status, 200);
});

test('acl: join needs agent:write, force-leave operator:write, a check registration node:write (service:write for its service\'s check)', async t => {
  await policy('ro-everything', 'node_prefix "" { policy = "read" }\nservice_prefix "" { policy = "read" }\nagent_prefix "" { policy = "read" }');
  const ro = await token(['ro-everything']);
  await policy('agent-w', `agent "${a.node}" { policy = "write" }`);
  const aw = await token(['agent-w']);
  await policy('op-w', 'operator = "write"');
  const op = await token(['op-w']);
  await policy('node-w', `node "${a.node}" { policy = "write" }`);
  const nw = await token(['node-w']);
  await policy('svc-w', 'service "acl-web" { policy = "write" }');
  const sw = await token(['svc-w']);
  const denied = (r: { status: number; text: string }, what: string) => {
    t.is(r.status, 403, `${what}: ${r.text}`);
    t.regex(r.text, /^Permission denied/, what);
  };
  // Join makes the agent connect anywhere: agent:write on this agent's node, as Consul.
  const target = `/v1/agent/join/127.0.0.1:${a.serfPort}`;
  denied(await call(a, 'PUT', target, { token: ro.secret }), 'join with read rights');
  denied(await call(a, 'PUT', target, { token: op.secret }), 'join with operator rights only');
  const joined = await call(a, 'PUT', target, { token: aw.secret });
  t.is(joined.status, 200, joined.text);
  // Force-leave acts on the whole cluster: operator:write.
  denied(await call(a, 'PUT', '/v1/agent/force-leave/no-such-node', { token: aw.secret }), 'force-leave with agent:write only');
  t.not((await call(a, 'PUT', '/v1/agent/force-leave/no-such-node', { token: op.secret })).status, 403);
  // An HTTP check probes any target: node:write for a node check, service:write for a service's check.
  t.is((await m('PUT', '/v1/agent/service/register', { Name: 'acl-web', ID: 'acl-web-1', Port: 80 })).status, 200);
  const nodeCheck = { Name: 'probe', ID: 'acl-probe', HTTP: 'http://127.0.0.1:1/', Interval: '1h' };
  denied(await call(a, 'PUT', '/v1/agent/check/register', { token: ro.secret, body: nodeCheck }), 'node check with read rights');
  denied(await call(a, 'PUT', '/v1/agent/check/register', { token: sw.secret, body: nodeCheck }), 'node check with service:write only');
  t.is((await call(a, 'PUT', '/v1/agent/check/register', { token: nw.secret, body: nodeCheck })).status, 200);
  const svcCheck = { ...nodeCheck, ID: 'acl-web-probe', ServiceID: 'acl-web-1' };
  denied(await call(a, 'PUT', '/v1/agent/check/register', { token: ro.secret, body: svcCheck }), 'service check with read rights');
  t.is((await call(a, 'PUT', '/v1/agent/check/register', { token: sw.secret, body: svcCheck })).status, 200);
  const checks = await m('GET', '/v1/agent/checks');
  t.truthy(checks.json['acl-probe']);
  t.is(checks.json['acl-web-probe']?.ServiceID, 'acl-web-1');
});
