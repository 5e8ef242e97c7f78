/**
 * Snapshot restore and ACLs (issue 12): `PUT /v1/snapshot` brings back the snapshot's tokens and
 * policies, and moves the ACL revision forward (above both the live and the snapshot's value) and
 * announces it, so every agent's ACL cache follows within about a second: a token created after the
 * snapshot is refused on the other agent, and one from the snapshot works. Also when the restored
 * revision number is one the other agent has already seen (a later snapshot restored over an earlier one).
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { testRedis } from './helpers/redis.ts';
import { startAgent, type TestAgent } from './helpers/agent.ts';
import { until } from './helpers/wait.ts';
import { keysFor } from '../src/store/keys.ts';

const MGMT = '6b1f0c3a-2d4e-4f5a-8b9c-0d1e2f3a4b5c';

async function call(ag: TestAgent, method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(ag.http + path, { method, headers: { 'X-Consul-Token': token }, body: body === undefined ? undefined : Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body) });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, text: bytes.toString(), bytes };
}

async function start(t: Parameters<typeof startAgent>[0], url: string, extra: Record<string, unknown>): Promise<TestAgent> {
  const d = mkdtempSync(join(tmpdir(), 'roster-snapacl-'));
  writeFileSync(join(d, 'acl.json'), JSON.stringify({ acl: { enabled: true, default_policy: 'deny', ...extra } }));
  return startAgent(t, { redis: url, dataDir: d, args: ['-config-file', join(d, 'acl.json')] });
}

test('snapshot: a restore moves the ACL revision forward and every agent follows the restored tokens within ~1 s', async t => {
  const r = await testRedis();
  const admin = new Redis(r.url);
  t.teardown(async () => { admin.disconnect(); await r.stop(); });
  const a = await start(t, r.url, { tokens: { initial_management: MGMT } });
  const b = await start(t, r.url, {});
  const rev = async () => Number(await admin.get(keysFor('dc1').aclRev));
  const m = async (method: string, path: string, body?: unknown) => {
    const res = await call(a, method, path, MGMT, body);
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
    return res.text ? JSON.parse(res.text) : undefined;
  };
  const snapshot = async () => (await call(a, 'GET', '/v1/snapshot', MGMT)).bytes;
  const restore = async (snap: Buffer) => t.is((await call(a, 'PUT', '/v1/snapshot', MGMT, snap)).status, 200);
  const newToken = async () => (await m('PUT', '/v1/acl/token', { Policies: [{ Name: 'readers' }] })).SecretID as string;
  /** What agent b answers a token: 200 (known) or 403 (ACL not found). */
  const onB = async (secret: string) => (await call(b, 'GET', '/v1/catalog/services', secret)).status;

  await m('PUT', '/v1/acl/policy', { Name: 'readers', Rules: 'service_prefix "" { policy = "read" }' });
  const old = await newToken();
  t.is(await onB(old), 200);
  const s0 = await snapshot();
  const rev0 = await rev();

  // 1. A token created after the snapshot works, until the snapshot is restored.
  const late = await newToken();
  t.is(await onB(late), 200, 'b resolved (and cached) the new token');
  const revBefore = await rev();
  await restore(s0);
  const revAfter = await rev();
  t.true(revAfter > revBefore && revAfter > rev0, `ACL revision moves forward: live ${revBefore}, snapshot ${rev0}, after ${revAfter}`);
  const t0 = Date.now();
  await until('b refuses the token created after the snapshot', async () => (await onB(late)) === 403, 3000);
  t.log(`b refused the post-snapshot token ${Date.now() - t0} ms after the restore answered`);
  t.is(await onB(old), 200, 'a token from the snapshot works on b');
  t.is(await call(a, 'GET', '/v1/catalog/services', late).then(x => x.status), 403, 'and on a');

  // 2. The restored revision number is one b has already seen: a snapshot taken later (s1, one ACL write after
  // s0) restored after s0 plus one other ACL write. Without the bump, b would keep the token it cached at that number.
  await m('PUT', '/v1/acl/policy', { Name: 'extra', Rules: 'node_prefix "" { policy = "read" }' });
  const s1 = await snapshot();
  await restore(s0);
  const other = await newToken();
  t.is(await onB(other), 200);
  await restore(s1);
  await until('b refuses a token the restored snapshot does not hold', async () => (await onB(other)) === 403, 3000);
  t.is(await onB(old), 200);
});

test('snapshot: restored into another Redis (another HMAC key), the snapshot\'s tokens work on the agent there within ~1 s', async t => {
  const r1 = await testRedis();
  const r2 = await testRedis();
  t.teardown(async () => { await r1.stop(); await r2.stop(); });
  const a = await start(t, r1.url, { tokens: { initial_management: MGMT } });
  const OTHER = 'c0ffee00-1111-4222-8333-444455556666';
  const c = await start(t, r2.url, { tokens: { initial_management: OTHER } });
  const pol = await call(a, 'PUT', '/v1/acl/policy', MGMT, { Name: 'readers', Rules: 'service_prefix "" { policy = "read" }' });
  t.is(pol.status, 200);
  const tok = await call(a, 'PUT', '/v1/acl/token', MGMT, { Policies: [{ Name: 'readers' }] });
  const secret = JSON.parse(tok.text).SecretID as string;
  const snap = (await call(a, 'GET', '/v1/snapshot', MGMT)).bytes;
  t.is((await call(c, 'GET', '/v1/catalog/services', secret)).status, 403, 'unknown in the other datacenter before the restore');
  t.is((await call(c, 'PUT', '/v1/snapshot', OTHER, snap)).status, 200);
  await until('the snapshot\'s token works on the other Redis\'s agent', async () => (await call(c, 'GET', '/v1/catalog/services', secret)).status === 200, 3000);
  t.is((await call(c, 'GET', '/v1/acl/token/self', MGMT)).status, 200, 'and so does its management token');
  t.is((await call(c, 'GET', '/v1/catalog/services', OTHER)).status, 403, 'the replaced datacenter\'s token is gone');
});
