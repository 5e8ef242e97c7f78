/**
 * The change hints stream between real agents (issue 12 §3): two `roster agent` processes on one
 * redis-server, ACLs on. Agent B is frozen (SIGSTOP) while its hints reader's connection is killed
 * and agent A writes, so the write surely happens while B's reader is away:
 *  - after SIGCONT, B's KV, event-list and ACL state catch up from the reader's last ID — the KV watch
 *    wakes with the write's index, the event list with the new event, the changed policy is enforced
 *    within a second — and B logs no fallback;
 *  - with the stream deleted meanwhile, B cannot catch up and wakes every watcher instead (a watch on
 *    a key whose hint was lost returns), and logs the fallback.
 */
import test from 'ava';
import { Redis } from 'ioredis';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testRedis } from './helpers/redis.ts';
import { startAgent, type TestAgent } from './helpers/agent.ts';
import { until, sleep } from './helpers/wait.ts';
import { HINTS_CLIENT } from '../src/store/hint-log.ts';
import { keysFor } from '../src/store/keys.ts';

const MGMT = '6c0e2b8a-41f3-4d7e-9a55-0b1c2d3e4f50';
const FALLBACK = /change hints lost; waking every watcher/g;
let a: TestAgent;
let b: TestAgent;
let admin: Redis;
let stopRedis: () => Promise<void>;

function agentConfig(acl: Record<string, unknown>): { dataDir: string; args: string[] } {
  const dataDir = mkdtempSync(join(tmpdir(), 'roster-hints-'));
  writeFileSync(join(dataDir, 'acl.json'), JSON.stringify({ acl: { enabled: true, default_policy: 'allow', ...acl } }));
  return { dataDir, args: ['-config-file', join(dataDir, 'acl.json')] };
}

test.before(async () => {
  const r = await testRedis();
  stopRedis = () => r.stop();
  admin = new Redis(r.url);
  a = await startAgent(null, { redis: r.url, node: 'hints-a', ...agentConfig({ tokens: { initial_management: MGMT } }) });
  b = await startAgent(null, { redis: r.url, node: 'hints-b', ...agentConfig({}) });
});
test.after.always(async () => { await a?.stop(); await b?.stop(); admin?.disconnect(); await stopRedis?.(); });

const fallbacks = (ag: TestAgent) => ag.log().match(FALLBACK)?.length ?? 0;

/** The hints readers' connections (one per agent), by client name. */
async function readerIds(): Promise<string[]> {
  const list = String(await admin.call('CLIENT', 'LIST'));
  return list.split('\n').filter(l => l.includes(` name=${HINTS_CLIENT} `)).map(l => /id=(\d+)/.exec(l)![1]!);
}

/**
 * Freezes B, kills every hints reader connection (A's reconnects at once, B's only once thawed), runs
 * `whileAway` (writes through A), thaws B; returns when B was thawed.
 */
async function whileBAway(t: { is(a: unknown, b: unknown, m?: string): void }, whileAway: () => Promise<void>): Promise<number> {
  const ids = await readerIds();
  t.is(ids.length, 2, 'one hints reader per agent');
  process.kill(b.proc.pid!, 'SIGSTOP');
  try {
    for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id);
    await whileAway();
  } finally {
    process.kill(b.proc.pid!, 'SIGCONT');
  }
  return Date.now();
}

const put = (ag: TestAgent, key: string, value: string) => ag.req('PUT', `/v1/kv/${key}`, value);
const index = async (ag: TestAgent, key: string) => Number((await ag.req('GET', `/v1/kv/${key}`)).headers.get('x-consul-index'));

test.serial('hints between agents: a KV watch and an event-list watch on B wake with the right index after B\'s reader reconnects (caught up, no fallback)', async t => {
  await put(a, 'hb/k', 'v1');
  const before = fallbacks(b);
  const cur = await index(b, 'hb/k');
  const ev0 = await b.req('GET', '/v1/event/list?name=hb-ev');
  const evIdx = ev0.headers.get('x-consul-index');
  const watch = b.req('GET', `/v1/kv/hb/k?index=${cur}&wait=20s`);
  const evWatch = b.req('GET', `/v1/event/list?name=hb-ev&index=${evIdx}&wait=20s`);
  await sleep(300); // both parked
  let fired = '';
  const thawed = await whileBAway(t, async () => {
    t.is((await put(a, 'hb/k', 'v2')).status, 200);
    const ev = await a.req('PUT', '/v1/event/fire/hb-ev', 'payload');
    t.is(ev.status, 200);
    fired = ev.json.ID;
  });
  const [w, e] = await Promise.all([watch, evWatch]);
  const took = Date.now() - thawed;
  t.true(took < 3000, `woke ${took} ms after B was thawed`);
  t.is(w.status, 200);
  t.is(Buffer.from(w.json[0].Value, 'base64').toString(), 'v2');
  t.is(Number(w.headers.get('x-consul-index')), await index(a, 'hb/k'), 'the write\'s index');
  t.is(e.json.at(-1).ID, fired);
  await sleep(500);
  t.is(fallbacks(b), before, 'B caught up from its last ID: no fallback');
});

test.serial('hints between agents: a policy changed through A while B\'s reader is away is enforced on B within a second of its return', async t => {
  const m = (method: string, path: string, body?: unknown) => fetch(a.http + path, { method, headers: { 'X-Consul-Token': MGMT }, body: body === undefined ? undefined : JSON.stringify(body) }).then(async r => ({ status: r.status, json: await r.json().catch(() => undefined) as any }));
  const p = await m('PUT', '/v1/acl/policy', { Name: 'hb-p', Rules: 'key "hb/acl" { policy = "read" }' });
  t.is(p.status, 200);
  const tok = await m('PUT', '/v1/acl/token', { Policies: [{ Name: 'hb-p' }] });
  const secret = tok.json.SecretID as string;
  const putAs = () => fetch(`${b.http}/v1/kv/hb/acl`, { method: 'PUT', headers: { 'X-Consul-Token': secret }, body: 'w' }).then(r => r.status);
  await until('B knows the token (read only)', async () => (await putAs()) === 403);
  const before = fallbacks(b);
  const thawed = await whileBAway(t, async () => {
    t.is((await m('PUT', `/v1/acl/policy/${p.json.ID}`, { Name: 'hb-p', Rules: 'key "hb/acl" { policy = "write" }' })).status, 200);
  });
  await until('B enforces the new policy', async () => (await putAs()) === 200, 5000);
  const took = Date.now() - thawed;
  t.true(took < 1000, `enforced ${took} ms after B was thawed`);
  t.log(`policy changed while B was away enforced ${took} ms after its return`);
  await sleep(300);
  t.is(fallbacks(b), before, 'B caught up from its last ID: no fallback');
});

test.serial('hints between agents: with the stream deleted while B\'s reader is away, B wakes every watcher (a watch whose hint was lost returns)', async t => {
  await put(a, 'hb/lost', 'v1');
  await put(a, 'hb/other', 'v1');
  const before = fallbacks(b);
  const cur = await index(b, 'hb/lost');
  const watch = b.req('GET', `/v1/kv/hb/lost?index=${cur}&wait=20s`);
  await sleep(300);
  const thawed = await whileBAway(t, async () => {
    t.is((await put(a, 'hb/lost', 'v2')).status, 200);
    await admin.del(keysFor('dc1').hints); // the hint of that write is gone
    t.is((await put(a, 'hb/other', 'v2')).status, 200); // a new stream: r starts again at 1
  });
  const w = await watch;
  const took = Date.now() - thawed;
  t.true(took < 3000, `woke ${took} ms after B was thawed`);
  t.is(Buffer.from(w.json[0].Value, 'base64').toString(), 'v2');
  t.is(Number(w.headers.get('x-consul-index')), await index(a, 'hb/lost'));
  await until('B logs the fallback', async () => fallbacks(b) === before + 1, 3000);
  // And B follows the new stream: a later write wakes a watch at once.
  const cur2 = await index(b, 'hb/other');
  const w2 = b.req('GET', `/v1/kv/hb/other?index=${cur2}&wait=20s`);
  await sleep(200);
  const t0 = Date.now();
  await put(a, 'hb/other', 'v3');
  const r2 = await w2;
  t.is(Buffer.from(r2.json[0].Value, 'base64').toString(), 'v3');
  t.true(Date.now() - t0 < 2000);
  t.is(fallbacks(b), before + 1);
});
