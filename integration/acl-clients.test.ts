/**
 * Real clients holding ACL tokens against an agent with `default_policy = "deny"`: python-consul
 * 0.7.1 (Debian, /usr/bin/python3, `?token=`), the npm `consul` package (`defaults.token`, sent as
 * the `x-consul-token` header) and the `roster` CLI (`acl` commands, `-token`, `-token-file`,
 * CONSUL_HTTP_TOKEN, CONSUL_HTTP_TOKEN_FILE).
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, ROSTER, startAgent, type TestAgent } from './helpers/agent.ts';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const Consul = require('consul') as new (o: { host: string; port: number; defaults?: { token?: string } }) => any;
const MGMT = '5d2c1b0a-9e8f-4a7b-8c6d-5e4f3a2b1c0d';
let agent: TestAgent;
let dir: string;

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise(resolve => {
    // No token from the test runner's environment (python-consul would take even an empty one).
    const base = { ...process.env };
    delete base.CONSUL_HTTP_TOKEN;
    delete base.CONSUL_HTTP_TOKEN_FILE;
    delete base.ROSTER_HTTP_TOKEN;
    execFile(cmd, args, { timeout: 30_000, env: { ...base, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
const roster = (args: string[], env: Record<string, string> = {}) => run(ROSTER, args, { CONSUL_HTTP_ADDR: `127.0.0.1:${agent.httpPort}`, ...env });

let secret = '';
test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roster-acl-clients-'));
  const f = join(dir, 'acl.hcl');
  writeFileSync(f, `acl {\n  enabled = true\n  default_policy = "deny"\n  tokens {\n    initial_management = "${MGMT}"\n  }\n}\n`);
  agent = await startAgent(null, { dataDir: dir, args: ['-config-file', f] });
  // the CLI creates the policy and the token every client uses
  const rules = join(dir, 'rules.hcl');
  writeFileSync(rules, 'key_prefix "py/" { policy = "write" }\nkey_prefix "npm/" { policy = "write" }\nservice "web" { policy = "read" }\nnode_prefix "" { policy = "read" }\nsession_prefix "" { policy = "write" }\n');
  const p = await roster(['acl', 'policy', 'create', '-name', 'clients', '-description', 'client tests', '-rules', `@${rules}`], { CONSUL_HTTP_TOKEN: MGMT });
  if (p.code !== 0) throw new Error(p.stderr);
  const tk = await roster(['acl', 'token', 'create', '-description', 'clients', '-policy-name', 'clients', '-format', 'json'], { CONSUL_HTTP_TOKEN: MGMT });
  if (tk.code !== 0) throw new Error(tk.stderr);
  secret = JSON.parse(tk.stdout).SecretID;
  await agent.req('PUT', '/v1/catalog/register?token=' + MGMT, { Node: 'n1', Address: '10.1.1.1', Service: { Service: 'web', Port: 80 } });
  await agent.req('PUT', '/v1/catalog/register?token=' + MGMT, { Node: 'n1', Address: '10.1.1.1', Service: { Service: 'db', Port: 5432 } });
});
test.after.always(async () => { await agent?.stop(); });

test('acl clients: python-consul sends ?token=, gets ACLPermissionDenied on 403, CONSUL_HTTP_TOKEN wins', async t => {
  const r = await run('/usr/bin/python3', [join(ROOT, 'integration/helpers/clients/python_acl.py'), String(agent.httpPort), secret]);
  t.is(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  t.deepEqual(o, { put_ok: true, put_other: 'denied', get: 'one', get_other: 'denied', services: ['web'], session_create: 'denied', sessions: 0, env_token: 'env wins' });
});

test('acl clients: npm consul defaults.token as a header; 403 surfaces with statusCode', async t => {
  const c = new Consul({ host: '127.0.0.1', port: agent.httpPort, defaults: { token: secret } });
  t.true(await c.kv.set('npm/a', 'v'));
  t.is((await c.kv.get('npm/a')).Value, 'v');
  const err = await t.throwsAsync(c.kv.set('nope/a', 'v'));
  t.is((err as { statusCode?: number }).statusCode, 403);
  t.deepEqual(Object.keys(await c.catalog.service.list()), ['web']);
  const anon = new Consul({ host: '127.0.0.1', port: agent.httpPort });
  const e2 = await t.throwsAsync(anon.kv.get('npm/a'));
  t.is((e2 as { statusCode?: number }).statusCode, 403);
});

test('acl clients: roster CLI with -token, -token-file, CONSUL_HTTP_TOKEN_FILE; acl commands', async t => {
  const tf = join(dir, 'token');
  writeFileSync(tf, secret + '\n');
  t.is((await roster(['kv', 'put', '-token', secret, 'py/cli', 'x'])).code, 0);
  t.is((await roster(['kv', 'get', '-token-file', tf, 'py/cli'])).stdout, 'x\n');
  t.is((await roster(['kv', 'get', 'py/cli'], { CONSUL_HTTP_TOKEN_FILE: tf })).stdout, 'x\n');
  const denied = await roster(['kv', 'put', 'py/cli', 'y']);
  t.not(denied.code, 0);
  t.regex(denied.stderr, /403 \(Permission denied/);
  const list = await roster(['acl', 'policy', 'list'], { CONSUL_HTTP_TOKEN: MGMT });
  t.regex(list.stdout, /^clients:$/m);
  t.regex(list.stdout, /global-management:/);
  const read = await roster(['acl', 'policy', 'read', '-name', 'clients'], { CONSUL_HTTP_TOKEN: MGMT });
  t.regex(read.stdout, /Rules:\nkey_prefix "py\/"/);
  const self = await roster(['acl', 'token', 'read', '-self', '-token', secret]);
  t.regex(self.stdout, /Policies:\n {3}[0-9a-f-]{36} - clients/);
  const boot = await roster(['acl', 'bootstrap']);
  t.is(boot.code, 1);
  t.regex(boot.stderr, /Failed ACL bootstrapping: Unexpected response code: 403 \(Permission denied: ACL bootstrap no longer allowed/);
  const role = await roster(['acl', 'role', 'create', '-name', 'r1', '-policy-name', 'clients'], { CONSUL_HTTP_TOKEN: MGMT });
  t.regex(role.stdout, /Name: {9}r1/);
  const tok2 = await roster(['acl', 'token', 'create', '-role-name', 'r1', '-format', 'json'], { CONSUL_HTTP_TOKEN: MGMT });
  const s2 = JSON.parse(tok2.stdout).SecretID;
  t.is((await roster(['kv', 'put', '-token', s2, 'py/role', 'z'])).code, 0);
  const upd = await roster(['acl', 'policy', 'update', '-name', 'clients', '-rules', 'key_prefix "py/" { policy = "read" }'], { CONSUL_HTTP_TOKEN: MGMT });
  t.is(upd.code, 0, upd.stderr);
  t.not((await roster(['kv', 'put', '-token', s2, 'py/role', 'z2'])).code, 0, 'the narrowed policy applies at once');
  const del = await roster(['acl', 'token', 'delete', '-id', JSON.parse(tok2.stdout).AccessorID], { CONSUL_HTTP_TOKEN: MGMT });
  t.regex(del.stdout, /deleted successfully/);
  t.is((await roster(['acl', 'policy', 'delete', '-name', 'clients'], { CONSUL_HTTP_TOKEN: MGMT })).code, 0);
  t.is((await roster(['acl', 'set-agent-token', 'default', secret], { CONSUL_HTTP_TOKEN: MGMT })).code, 0);
});
