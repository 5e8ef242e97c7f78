/**
 * ACLs while Redis (the ACL store) is frozen (SIGSTOP: a partition as the client sees it):
 * `down_policy = "extend-cache"` keeps cached tokens working past `token_ttl` and denies tokens
 * never seen; `down_policy = "deny"` denies everything; both recover on SIGCONT. Reads use `?stale`
 * (served from the view while Redis is away) and DNS.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type TestAgent } from './helpers/agent.ts';
import { testRedis } from './helpers/redis.ts';
import { sleep } from './helpers/wait.ts';

const MGMT = '1a2b3c4d-5e6f-4a0b-9c8d-7e6f5a4b3c2d';

async function call(a: TestAgent, method: string, path: string, token: string, body?: unknown) {
  const r = await fetch(a.http + path, { method, headers: { 'X-Consul-Token': token }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, text, json };
}

for (const policy of ['extend-cache', 'deny'] as const) {
  test(`acl down_policy ${policy}: Redis frozen past token_ttl`, async t => {
    const r = await testRedis();
    t.teardown(async () => { try { process.kill(r.pid, 'SIGCONT'); } catch { /* gone */ } await r.stop(); });
    const d = mkdtempSync(join(tmpdir(), 'roster-acl-down-'));
    const cfg = join(d, 'acl.json');
    writeFileSync(cfg, JSON.stringify({ redis_timeout: '1s', acl: { enabled: true, default_policy: 'deny', down_policy: policy, token_ttl: '1s', tokens: { initial_management: MGMT } } }));
    const a = await startAgent(t, { redis: r.url, dataDir: d, args: ['-config-file', cfg] });
    await call(a, 'PUT', '/v1/acl/policy', MGMT, { Name: 'read-all', Rules: 'service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }' });
    const seen = (await call(a, 'PUT', '/v1/acl/token', MGMT, { Policies: [{ Name: 'read-all' }] })).json.SecretID;
    const unseen = (await call(a, 'PUT', '/v1/acl/token', MGMT, { Policies: [{ Name: 'read-all' }] })).json.SecretID;
    await call(a, 'PUT', '/v1/catalog/register', MGMT, { Node: 'dn1', Address: '10.3.0.1', Service: { Service: 'web', Port: 80 } });
    t.deepEqual(Object.keys((await call(a, 'GET', '/v1/catalog/services?stale', seen)).json).sort(), ['consul', 'web']);

    process.kill(r.pid, 'SIGSTOP');
    await sleep(1500); // past token_ttl: the cached entries are stale now
    const s1 = await call(a, 'GET', '/v1/catalog/services?stale', seen);
    const s2 = await call(a, 'GET', '/v1/catalog/services?stale', unseen);
    const m = await call(a, 'GET', '/v1/catalog/services?stale', MGMT);
    if (policy === 'extend-cache') {
      t.deepEqual(Object.keys(s1.json).sort(), ['consul', 'web'], 'a cached token keeps working');
      t.deepEqual(m.json && Object.keys(m.json).sort(), ['consul', 'web']);
    } else {
      t.deepEqual(s1.json, {}, 'deny: everything filtered');
    }
    t.deepEqual(s2.json, {}, 'a token never seen is denied');
    t.is((await call(a, 'PUT', '/v1/kv/x', MGMT, 'v')).status, policy === 'deny' ? 403 : 500, 'writes: denied, or Redis\'s own 500');

    process.kill(r.pid, 'SIGCONT');
    await sleep(1500);
    t.deepEqual(Object.keys((await call(a, 'GET', '/v1/catalog/services?stale', unseen)).json).sort(), ['consul', 'web'], 'recovered');
  });
}
