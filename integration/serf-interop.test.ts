/**
 * Interop with real HashiCorp Serf agents (Debian `serf`, really 0.9.4): a Roster gossip node and
 * two `serf agent` processes join in every direction, exchange events and queries, and observe
 * each other's failures and leaves. Runs once in plaintext and once with `-encrypt`.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Serf } from '../src/gossip/index.ts';
import type { Member, UserEvent, QueryEvent } from '../src/gossip/index.ts';
import { SerfAgent, SERF_BIN, freePort, eventually } from './helpers/serf-agent.ts';

const exec = promisify(execFile);
// Debian's serf is installed by `make test-deps` (.ci/run); missing, these tests fail rather than skip.
test.before(() => { if (!existsSync(SERF_BIN)) throw new Error(`${SERF_BIN} is missing: install serf (make test-deps)`); });

async function startRoster(t: ExecutionContext, name: string, encryptKey?: string): Promise<{ serf: Serf; logs: string[] }> {
  const logs: string[] = [];
  const serf = await Serf.create({
    nodeName: name, bindAddr: '127.0.0.1', bindPort: await freePort(), tags: { role: 'roster', dc: 'dc1' }, encryptKey,
    // Faster than LAN on our side only; the serf agents keep their defaults.
    probeIntervalMs: 300, probeTimeoutMs: 150, gossipIntervalMs: 100, pushPullIntervalMs: 5000, leavePropagateDelayMs: 500,
    logger: (level, msg, fields) => { if (level === 'error' || level === 'warn') logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`); },
  });
  t.teardown(() => serf.shutdown());
  return { serf, logs };
}

async function startAgents(t: ExecutionContext, encrypt?: string): Promise<[SerfAgent, SerfAgent]> {
  const [s1, s2] = await Promise.all([
    SerfAgent.start({ name: 's1', tags: { role: 'oracle', zone: 'a' }, encrypt }),
    SerfAgent.start({ name: 's2', tags: { role: 'oracle', zone: 'b' }, encrypt }),
  ]);
  t.teardown(() => { s1.cleanup(); s2.cleanup(); });
  return [s1, s2];
}

const rosterStatus = (r: Serf, name: string): string => r.members().find(m => m.name === name)?.status ?? 'none';

/** Each side lists the other two alive with the right tags and versions. */
async function assertFullMesh(t: ExecutionContext, r: Serf, s1: SerfAgent, s2: SerfAgent): Promise<void> {
  for (const a of [s1, s2]) {
    const ok = await eventually(async () => {
      const ms = await a.members();
      return ['r1', 's1', 's2'].every(n => ms.find(m => m.name === n)?.status === 'alive');
    }, 10_000);
    t.true(ok, `${a.name} lists r1, s1, s2 alive`);
    const me = await a.member('r1');
    t.deepEqual(me?.tags, { role: 'roster', dc: 'dc1' });
    t.is(me?.addr, `127.0.0.1:${r.port}`);
    t.deepEqual(me?.protocol, { min: 2, max: 5, version: 5 });
  }
  t.true(await eventually(() => ['s1', 's2'].every(n => rosterStatus(r, n) === 'alive'), 10_000), 'roster lists s1, s2 alive');
  const bySelf = Object.fromEntries(r.members().map(m => [m.name, m]));
  t.deepEqual(bySelf.s1!.tags, { role: 'oracle', zone: 'a' });
  t.deepEqual(bySelf.s2!.tags, { role: 'oracle', zone: 'b' });
  t.is(bySelf.s1!.port, s1.bindPort);
  t.deepEqual([bySelf.s1!.delegateMin, bySelf.s1!.delegateMax, bySelf.s1!.delegateCur], [2, 5, 5]);
}

function assertNoDecodeErrors(t: ExecutionContext, agents: SerfAgent[], logs: string[]): void {
  const bad = /decode|Decrypt|checksum|Unrecognized|not supported|unexpected|Failed to receive|bad|invalid|r1/i;
  for (const a of agents) {
    const errs = a.errorLines().filter(l => bad.test(l));
    t.deepEqual(errs, [], `${a.name} logged no decode/protocol errors`);
  }
  t.deepEqual(logs.filter(l => /decode|decrypt|checksum|handle message|not supported/i.test(l)), [], 'roster logged no decode errors');
}

test('interop: Roster ⇄ two serf agents — joins both ways, events, queries, failure, graceful leave', async t => {
  t.timeout(80_000);
  const [s1, s2] = await startAgents(t);
  const { serf: r, logs } = await startRoster(t, 'r1');
  const userEvents: UserEvent[] = [];
  r.on('user', (e: UserEvent) => userEvents.push(e));
  r.on('query', (q: QueryEvent) => { if (q.name === 'whoami') void q.respond(Buffer.from(`i am r1 (${Buffer.from(q.payload).toString()})`)); });

  // Direction A: we push-pull into a real agent. Direction B: a real agent push-pulls into us.
  t.is(await r.join([s1.addr]), 1);
  const joinOut = await s2.cli('join', `127.0.0.1:${r.port}`);
  t.regex(joinOut, /Successfully joined cluster by contacting 1 nodes/);
  // s2 only ever talked to us, yet must learn s1 from our push-pull reply.
  await assertFullMesh(t, r, s1, s2);

  // serf → roster: user event and query (ack + response).
  await s1.cli('event', 'deploy', 'v1');
  t.true(await eventually(() => userEvents.some(e => e.name === 'deploy'), 5000), 'serf user event reached roster');
  const ev = userEvents.find(e => e.name === 'deploy')!;
  t.is(Buffer.from(ev.payload).toString(), 'v1');
  t.true(ev.coalesce);
  const qOut = await s2.cli('query', '-timeout=3s', 'whoami', 'from-s2');
  t.regex(qOut, /Ack from 'r1'/);
  t.regex(qOut, /Response from 'r1': i am r1 \(from-s2\)/);
  const filtered = await s2.cli('query', '-timeout=2s', '-node=s1', 'whoami', 'x');
  t.notRegex(filtered, /r1/, 'node filter excludes us');

  // roster → serf: user event and query answered by the agents' handlers.
  await r.userEvent('rosterev', Buffer.from('hello-serf'));
  t.true(await eventually(() => [s1, s2].every(a => a.userEvents().includes('rosterev:hello-serf')), 8000), 'roster user event reached both agents');
  const resp = await r.query('rostq', Buffer.from('ping'), { requestAck: true, timeoutMs: 4000 });
  const result = await resp.done;
  t.deepEqual(result.acks.sort(), ['r1', 's1', 's2']);
  t.deepEqual(result.responses.map(x => `${x.from}=${Buffer.from(x.payload).toString().trim()}`).sort(), ['s1=pong-from-s1', 's2=pong-from-s2']);

  // serf tags change → member-update on our side.
  const updates: Member[] = [];
  r.on('member-update', (ms: Member[]) => updates.push(...ms));
  await s1.cli('tags', '-set', 'zone=z9');
  t.true(await eventually(() => r.members().find(m => m.name === 's1')?.tags.zone === 'z9', 5000));
  t.is(updates.at(-1)?.name, 's1');

  // SIGKILL of a serf agent → failed on our side.
  const failed: string[] = [];
  r.on('member-failed', (ms: Member[]) => failed.push(ms[0]!.name));
  const killedAt = Date.now();
  s2.kill('SIGKILL');
  t.true(await eventually(() => rosterStatus(r, 's2') === 'failed', 15_000, 100), 'roster reports s2 failed');
  t.log(`s2 failed after ${Date.now() - killedAt} ms`);
  t.deepEqual(failed, ['s2']);
  t.true(await eventually(async () => (await s1.member('s2'))?.status === 'failed', 15_000), 'and so does s1');

  // Graceful leave of our node → `left` in serf.
  assertNoDecodeErrors(t, [s1], logs);
  await r.leave();
  t.true(await eventually(async () => (await s1.member('r1'))?.status === 'left', 8000), 's1 shows r1 left');
  await r.shutdown();
  await new Promise(res => setTimeout(res, 1500));
  t.is((await s1.member('r1'))?.status, 'left', 'still left (not failed) after we stopped answering');
});

test('interop: the same over AES-GCM with `-encrypt` on every side', async t => {
  t.timeout(80_000);
  const { stdout } = await exec(SERF_BIN, ['keygen']);
  const key = stdout.trim();
  const [s1, s2] = await startAgents(t, key);
  const { serf: r, logs } = await startRoster(t, 'r1', key);
  t.true(r.encryptionEnabled());
  const userEvents: string[] = [];
  r.on('user', (e: UserEvent) => userEvents.push(`${e.name}:${Buffer.from(e.payload).toString()}`));
  r.on('query', (q: QueryEvent) => { void q.respond(Buffer.from('enc-ok')); });

  t.is(await r.join([s1.addr]), 1);
  t.regex(await s2.cli('join', `127.0.0.1:${r.port}`), /Successfully joined/);
  await assertFullMesh(t, r, s1, s2);

  await s2.cli('event', 'secret', 'p1');
  t.true(await eventually(() => userEvents.includes('secret:p1'), 5000));
  t.regex(await s1.cli('query', '-timeout=3s', 'whoami', 'x'), /Response from 'r1': enc-ok/);
  await r.userEvent('rosterev', Buffer.from('sealed'));
  t.true(await eventually(() => [s1, s2].every(a => a.userEvents().includes('rosterev:sealed')), 8000));

  // Keyring queries from serf are answered by us.
  const keys = await s1.cli('keys', '-list');
  t.regex(keys, new RegExp(`${key.replace(/[+/=]/g, c => `\\${c}`)}\\s+\\[3/3\\]`), 'all three members report the key');

  // A plaintext Roster node cannot join the encrypted cluster.
  const plain = await Serf.create({ nodeName: 'intruder', bindAddr: '127.0.0.1', bindPort: await freePort() });
  t.teardown(() => plain.shutdown());
  await t.throwsAsync(() => plain.join([s1.addr]));

  s1.kill('SIGKILL');
  t.true(await eventually(() => rosterStatus(r, 's1') === 'failed', 15_000, 100), 'roster reports s1 failed');
  assertNoDecodeErrors(t, [s2], logs);
  await r.leave();
  t.true(await eventually(async () => (await s2.member('r1'))?.status === 'left', 8000), 's2 shows r1 left');
  t.false((await s2.members()).some(m => m.name === 'intruder'));
});
