/**
 * Snapshots on live agents (issue 12 §4): save → FLUSHALL → restore with two agents on one Redis
 * (both views come back authoritatively through the epoch rule, DNS answers again, KV is back,
 * blocking-query indexes never go backwards), and corrupt or foreign files are refused with 400
 * and change nothing. Needs `npx tsc -p tsconfig.build.json` first.
 */
import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import { gunzipSync, gzipSync } from 'node:zlib';
import { testRedis } from './helpers/redis.ts';
import { startAgent, type TestAgent } from './helpers/agent.ts';
import { dig } from './helpers/dig.ts';
import { until } from './helpers/wait.ts';
import { keysFor } from '../src/store/keys.ts';
import { encodeSnapshot } from '../src/store/snapshot-format.ts';

const reg = (node: string, addr: string, svc: string, id = svc) => ({ Node: node, Address: addr, Service: { ID: id, Service: svc, Port: 80 } });
const addrs = async (a: TestAgent, name: string) => (await dig(a.dnsPort, `${name}.service.consul`, 'A')).answer.map(r => r.data).sort();
const index = async (a: TestAgent, path: string) => Number((await a.req('GET', path)).headers.get('x-consul-index'));
async function snapshot(a: TestAgent): Promise<{ bytes: Buffer; headers: Headers }> {
  const res = await fetch(`${a.http}/v1/snapshot`);
  if (res.status !== 200) throw new Error(`snapshot: ${res.status} ${await res.text()}`);
  return { bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}
const restore = async (a: TestAgent, body: Buffer) => {
  const res = await fetch(`${a.http}/v1/snapshot`, { method: 'PUT', body: new Uint8Array(body) });
  return { status: res.status, text: await res.text() };
};

async function setup(t: ExecutionContext) {
  const r = await testRedis();
  const admin = new Redis(r.url);
  t.teardown(async () => { admin.disconnect(); await r.stop(); });
  const a = await startAgent(t, { redis: r.url, node: 'alpha' });
  const b = await startAgent(t, { redis: r.url, node: 'beta' });
  return { r, admin, a, b };
}

test('snapshot: save → FLUSHALL → restore on live agents brings back both views, DNS and KV; indexes never go backwards', async t => {
  const { admin, a, b } = await setup(t);
  t.is((await a.req('PUT', '/v1/catalog/register', reg('ext1', '127.0.0.9', 'web'))).status, 200);
  t.is((await a.req('PUT', '/v1/catalog/register', reg('ext2', '127.0.0.10', 'db'))).status, 200);
  t.is((await a.req('PUT', '/v1/kv/cfg/a', 'one')).status, 200);
  await until('beta serves web', async () => (await addrs(b, 'web')).join() === '127.0.0.9', 5000);

  const snap = await snapshot(a);
  t.is(snap.headers.get('content-type'), 'application/x-gzip');
  const snapIndex = Number(snap.headers.get('x-consul-index'));
  t.true(snapIndex > 0);
  t.is(gunzipSync(snap.bytes).subarray(0, 16).toString(), 'ROSTER-SNAPSHOT\n');

  // After the snapshot: a changed record and a later registration (newer indexes than anything
  // restored, which an index merge would keep) and a KV change.
  t.is((await b.req('PUT', '/v1/catalog/register', reg('ext1', '127.0.0.99', 'web'))).status, 200);
  t.is((await b.req('PUT', '/v1/catalog/register', reg('ext3', '127.0.0.11', 'late'))).status, 200);
  t.is((await b.req('PUT', '/v1/kv/cfg/a', 'two')).status, 200);
  await until('alpha serves late and the changed web', async () => (await addrs(a, 'late')).length === 1 && (await addrs(a, 'web')).join() === '127.0.0.99', 5000);
  const before = Math.max(await index(a, '/v1/catalog/services'), await index(b, '/v1/catalog/services'));
  t.true(before > snapIndex);
  // A blocking query on beta, parked at the newest index it has seen.
  const blocked = b.req('GET', `/v1/catalog/services?index=${before}&wait=30s`);
  blocked.catch(() => {}); // awaited below; a failure earlier must not leave it unhandled
  const kvIndex = Number((await a.req('GET', '/v1/kv/cfg/a')).headers.get('x-consul-index'));
  const kvBlocked = a.req('GET', `/v1/kv/cfg/a?index=${kvIndex}&wait=30s`);
  kvBlocked.catch(() => {});

  await admin.flushall();
  const epochBefore = Number(await admin.get(keysFor('dc1').epoch)) || 0;
  const res = await restore(a, snap.bytes);
  t.is(res.status, 200, res.text);
  t.is(res.text, '');
  t.is(Number(await admin.get(keysFor('dc1').epoch)), epochBefore + 1);

  for (const agent of [a, b]) {
    // DNS answers from the restored catalog on both agents, at once (the restore event reloads them),
    // including the older record of web that an index merge would have refused.
    await until(`${agent.node} serves the restored catalog`, async () => (await addrs(agent, 'web')).join() === '127.0.0.9' && (await addrs(agent, 'db')).join() === '127.0.0.10', 5000);
    t.deepEqual(await addrs(agent, 'late'), []);
    t.is((await agent.req('GET', '/v1/kv/cfg/a?raw')).text, 'one');
    t.true(await index(agent, '/v1/catalog/services') > before);
    t.true(await index(agent, '/v1/catalog/service/web') > before);
  }
  const kvWoke = await kvBlocked;
  t.is(kvWoke.json?.[0]?.Value, Buffer.from('one').toString('base64'), 'a KV watcher sees the restored value');
  t.true(Number(kvWoke.headers.get('x-consul-index')) > kvIndex, `with a newer index: ${kvWoke.headers.get('x-consul-index')} vs ${kvIndex} ${kvWoke.text}`);
  const woke = await blocked;
  t.is(woke.status, 200);
  t.true(Number(woke.headers.get('x-consul-index')) > before, 'the blocking query returns with a newer index');
  t.false('late' in woke.json, 'beta dropped what the snapshot does not hold, although its indexes are newer');
  // Writes go on above the restored index, and reach both agents.
  const w = await a.req('PUT', '/v1/catalog/register', reg('ext4', '127.0.0.12', 'after'));
  t.is(w.status, 200);
  await until('beta serves a registration made after the restore', async () => (await addrs(b, 'after')).join() === '127.0.0.12', 5000);
  t.true(await index(b, '/v1/catalog/service/after') > before);
  // Nothing of the staging area is left behind.
  t.deepEqual(await admin.keys('*:restore:*'), []);
});

test('snapshot: corrupt, truncated, foreign and other-datacenter files are refused with 400 and change nothing', async t => {
  const { admin, a } = await setup(t);
  t.is((await a.req('PUT', '/v1/catalog/register', reg('ext1', '127.0.0.9', 'web'))).status, 200);
  t.is((await a.req('PUT', '/v1/kv/k', 'v')).status, 200);
  const good = (await snapshot(a)).bytes;
  const plain = gunzipSync(good);
  const flipped = Buffer.from(plain);
  flipped[plain.length - 40] ^= 0xff; // a byte of the last DUMP payload: only the checksum can tell
  const k = keysFor('dc1');
  const tarLike = gzipSync(Buffer.concat([Buffer.from('meta.json'), Buffer.alloc(503), Buffer.from('{"ID":"2-5-1477944140022","Index":5,"Term":2,"Version":1}')]));
  const dc2 = encodeSnapshot({ version: 1, dc: 'dc2', index: 5, created: new Date().toISOString(), redisTimeMs: Date.now(), redisVersion: '7', keys: 0, counts: {} }, []);
  const dc2Bytes = Buffer.concat(await dc2.toArray());
  const cases: [string, Buffer, RegExp][] = [
    ['not gzip', Buffer.from('hello, this is not a snapshot'), /^Error restoring snapshot: failed to decompress snapshot: /],
    ['a flipped byte in the compressed stream', (() => { const c = Buffer.from(good); c[Math.floor(c.length / 2)] ^= 0xff; return c; })(), /^Error restoring snapshot: /],
    ['a flipped byte in a value (recompressed)', gzipSync(flipped), /^Error restoring snapshot: snapshot checksum mismatch$/],
    ['truncated', gzipSync(plain.subarray(0, plain.length - 50)), /^Error restoring snapshot: snapshot is truncated$/],
    ['a Consul-like tarball', tarLike, /^Error restoring snapshot: not a Roster snapshot \(bad magic\)$/],
    ['another datacenter', dc2Bytes, /^Error restoring snapshot: snapshot is of datacenter "dc2", this agent's is "dc1"$/],
    ['a newer format version', gzipSync(Buffer.from(plain.toString('latin1').replace('{"version":1,', '{"version":9,'), 'latin1')), /^Error restoring snapshot: unsupported snapshot version 9/],
    ['empty body', Buffer.alloc(0), /^Error restoring snapshot: /],
  ];
  const state = async () => JSON.stringify([await admin.get(k.index), await admin.get(k.epoch), await admin.hgetall(k.nodes), await admin.hgetall(k.kv), (await admin.keys('*')).sort()]);
  const s0 = await state();
  for (const [what, body, message] of cases) {
    const res = await restore(a, body);
    t.is(res.status, 400, what);
    t.regex(res.text, message, what);
    t.is(await state(), s0, `${what}: Redis is unchanged`);
  }
  t.deepEqual(await addrs(a, 'web'), ['127.0.0.9']);
  // And the good file still restores (the refusals left nothing half-done in the way).
  t.is((await restore(a, good)).status, 200);
  t.is((await a.req('GET', '/v1/kv/k?raw')).text, 'v');
});

test('snapshot: Consul\'s method and datacenter rules', async t => {
  const { a } = await setup(t);
  const del = await a.req('DELETE', '/v1/snapshot');
  t.is(del.status, 405);
  t.is(del.headers.get('allow'), 'OPTIONS,GET,PUT');
  t.is((await a.req('GET', '/v1/snapshot?dc=dc9')).status, 500);
  t.is((await a.req('GET', '/v1/snapshot?dc=dc9')).text, 'No path to datacenter');
  const stale = await fetch(`${a.http}/v1/snapshot?stale`);
  t.is(stale.status, 200);
  t.true(Number(stale.headers.get('x-consul-index')) > 0);
  t.is(stale.headers.get('x-consul-knownleader'), 'true');
});

test('snapshot: roster snapshot save / inspect / restore as Consul\'s CLI words them; a corrupt file is refused', async t => {
  const { admin, a } = await setup(t);
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, readFileSync, writeFileSync, existsSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { ROSTER } = await import('./helpers/agent.ts');
  const dir = mkdtempSync(join(tmpdir(), 'roster-snap-'));
  const run = (args: string[]) => new Promise<{ code: number | null; stdout: string; stderr: string }>(resolve => {
    const p = spawn(ROSTER, args, { env: { ...process.env, ROSTER_HTTP_ADDR: `127.0.0.1:${a.httpPort}` } });
    let stdout = '', stderr = '';
    p.stdout.on('data', d => { stdout += String(d); });
    p.stderr.on('data', d => { stderr += String(d); });
    p.on('close', code => resolve({ code, stdout, stderr }));
  });
  t.is((await a.req('PUT', '/v1/catalog/register', reg('ext1', '127.0.0.9', 'web'))).status, 200);
  t.is((await a.req('PUT', '/v1/kv/k', 'v1')).status, 200);
  const file = join(dir, 'backup.snap');
  const saved = await run(['snapshot', 'save', file]);
  t.is(saved.code, 0, saved.stderr);
  const idx = Number(await admin.get(keysFor('dc1').index));
  t.is(saved.stdout, `Saved and verified snapshot to index ${idx}\n`);
  // Not a terminal: plain progress lines (no bar, no escape codes), the last one when it ends.
  t.regex(saved.stderr, /^(Saving snapshot: \d+(\.\d)?[KM]?B\n)*Saving snapshot: \d+(\.\d)?[KM]?B, done\n$/);
  t.false(existsSync(`${file}.tmp`));

  const insp = await run(['snapshot', 'inspect', file]);
  t.is(insp.code, 0, insp.stderr);
  t.regex(insp.stdout, new RegExp(`^ ID +dc1-${idx}-\\d+\\n Size +${readFileSync(file).length}\\n Index +${idx}\\n Version +1\\n Datacenter +dc1\\n`));
  t.regex(insp.stdout, /\n Type +Count +Size\n/);
  t.regex(insp.stdout, /\n Node +3 +\d/); // ext1, alpha, beta (counts from the header, sizes of the DUMPs)
  t.notRegex(insp.stdout, /reconciler/, 'leases (keys with a TTL) are not saved');
  t.regex(insp.stdout, /\n KV +1 +\d/);
  t.regex(insp.stdout, /\n Total +\d/);
  const json = JSON.parse((await run(['snapshot', 'inspect', '-format', 'json', file])).stdout);
  t.is(json.Meta.Index, idx);
  t.is(json.Counts.kv, 1);

  t.is((await a.req('PUT', '/v1/kv/k', 'v2')).status, 200);
  t.is((await a.req('DELETE', '/v1/catalog/deregister', { Node: 'ext1' })).status, 405); // PUT only, as Consul
  t.is((await a.req('PUT', '/v1/catalog/deregister', { Node: 'ext1' })).status, 200);
  const restored = await run(['snapshot', 'restore', file]);
  t.is(restored.code, 0, restored.stderr);
  t.is(restored.stdout, 'Restored snapshot\n');
  t.regex(restored.stderr, /^(Restoring snapshot: \S+\/\S+ \(\d+%\)\n)*Restoring snapshot: (\S+)\/\2 \(100%\), done\n$/);
  t.is((await a.req('GET', '/v1/kv/k?raw')).text, 'v1');
  t.deepEqual(await addrs(a, 'web'), ['127.0.0.9']);

  const bad = join(dir, 'bad.snap');
  const bytes = readFileSync(file);
  bytes[bytes.length - 12] ^= 0xff;
  writeFileSync(bad, bytes);
  const r1 = await run(['snapshot', 'restore', bad]);
  t.is(r1.code, 1);
  t.regex(r1.stderr, /^Restoring snapshot: \S+\/\S+ \(\d+%\), failed\nError restoring snapshot: Unexpected response code: 400 \(Error restoring snapshot: /m);
  const r2 = await run(['snapshot', 'inspect', bad]);
  t.is(r2.code, 1);
  t.regex(r2.stderr, /^Error verifying snapshot: /);
  t.is((await run(['snapshot', 'save'])).stderr, 'Missing FILE argument\n');
  // On a terminal (script(1) gives the command a pty), save shows its progress, then clears it.
  const tty = await new Promise<string>(resolve => {
    const p = spawn('script', ['-qec', `"${ROSTER}" snapshot save "${join(dir, 'tty.snap')}"`, '/dev/null'], { env: { ...process.env, ROSTER_HTTP_ADDR: `127.0.0.1:${a.httpPort}` } });
    let out = '';
    p.stdout.on('data', d => { out += String(d); });
    p.on('close', () => resolve(out));
  });
  t.regex(tty, /\rSaving snapshot: \d+(\.\d)?[KM]?B\x1b\[K/);
  t.regex(tty, /\r\x1b\[KSaved and verified snapshot to index \d+/);
});

test('snapshot: one save or restore at a time per agent: a second one meanwhile gets 429 and the first completes', async t => {
  const { a } = await setup(t);
  t.is((await a.req('PUT', '/v1/kv/k', 'v')).status, 200);
  const good = (await snapshot(a)).bytes;
  const { request } = await import('node:http');
  // A restore whose body is held half-sent keeps the agent's snapshot slot.
  const put = request(`${a.http}/v1/snapshot`, { method: 'PUT', headers: { 'Content-Length': String(good.length) } });
  const done = new Promise<number>((resolve, reject) => { put.on('response', res => { res.resume(); res.on('end', () => resolve(res.statusCode!)); }); put.on('error', reject); });
  put.write(good.subarray(0, 10));
  // The PUT must reach the agent first: wait for its connection, then give the agent time to read the headers.
  await new Promise<void>(resolve => put.once('socket', so => so.once('connect', () => resolve())));
  await new Promise(resolve => setTimeout(resolve, 300));
  const refused = await a.req('GET', '/v1/snapshot');
  t.is(refused.status, 429);
  t.is(refused.text, 'Too many requests: a snapshot save or restore is already in progress on this agent');
  put.end(good.subarray(10));
  t.is(await done, 200);
  t.is((await a.req('GET', '/v1/snapshot')).status, 200);
});

test('snapshot: ACL tokens, policies and prepared queries are saved and restored with the rest (ACLs enabled)', async t => {
  const r = await testRedis();
  t.teardown(() => r.stop());
  const MGMT = '6d1c9b4e-2f3a-4b5c-8d7e-9f0a1b2c3d4e';
  const a = await startAgent(t, { redis: r.url, node: 'alpha', args: ['-hcl', `acl { enabled = true, default_policy = "deny", tokens { initial_management = "${MGMT}" } }`] });
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${a.http}${path}`, { method, headers: { 'X-Consul-Token': token }, body: body === undefined ? undefined : Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body) });
    const text = await res.text();
    let json: any;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, text, json, headers: res.headers };
  };
  const pol = await call('PUT', '/v1/acl/policy', MGMT, { Name: 'kv-read', Rules: 'key_prefix "" { policy = "read" }' });
  t.is(pol.status, 200, pol.text);
  const kept = await call('PUT', '/v1/acl/token', MGMT, { Description: 'kept', Policies: [{ Name: 'kv-read' }] });
  t.is(kept.status, 200, kept.text);
  const q = await call('POST', '/v1/query', MGMT, { Name: 'saved-q', Service: { Service: 'web' } });
  t.is(q.status, 200, q.text);
  t.is((await call('PUT', '/v1/kv/k', MGMT, 'v')).status, 200);

  const saved = await fetch(`${a.http}/v1/snapshot`, { headers: { 'X-Consul-Token': MGMT } });
  t.is(saved.status, 200);
  const bytes = Buffer.from(await saved.arrayBuffer());

  // After the snapshot: a new token and a new query, and the kept policy renamed.
  const late = await call('PUT', '/v1/acl/token', MGMT, { Description: 'late', Policies: [{ Name: 'kv-read' }] });
  t.is(late.status, 200, late.text);
  t.is((await call('GET', '/v1/kv/k', late.json.SecretID)).status, 200);
  t.is((await call('POST', '/v1/query', MGMT, { Name: 'late-q', Service: { Service: 'web' } })).status, 200);
  t.is((await call('PUT', `/v1/acl/policy/${pol.json.ID}`, MGMT, { Name: 'renamed', Rules: 'key_prefix "" { policy = "read" }' })).status, 200);

  const res = await call('PUT', '/v1/snapshot', MGMT, bytes);
  t.is(res.status, 200, res.text);
  // What the snapshot held is back, what came after is gone, on the agent's resolver too (not only in Redis).
  await until('the late token is refused', async () => (await call('GET', '/v1/kv/k', late.json.SecretID)).status === 403, 5000);
  t.regex((await call('GET', '/v1/kv/k', late.json.SecretID)).text, /ACL not found/);
  const k = await call('GET', '/v1/kv/k', kept.json.SecretID);
  t.is(k.status, 200, k.text);
  t.is((await call('GET', `/v1/acl/policy/${pol.json.ID}`, MGMT)).json?.Name, 'kv-read');
  const queries = (await call('GET', '/v1/query', MGMT)).json as { Name: string }[];
  t.deepEqual(queries.map(x => x.Name), ['saved-q']);
});
