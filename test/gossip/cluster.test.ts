/**
 * In-process Serf nodes on loopback UDP/TCP (real sockets, no mocks), with short timings. Time is
 * a fake clock (test/helpers/clock.ts: node:test mock timers and Date, advanced 1 ms at a time with
 * real event-loop turns in between, in which the sockets' I/O happens), so every duration below is
 * protocol time, independent of machine load; the tests run serially (the mock is process-wide).
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import dgram from 'node:dgram';
import { Serf } from '../../src/gossip/index.ts';
import type { GossipConfig, Member } from '../../src/gossip/index.ts';
import { encodeSuspect } from '../../src/gossip/messages.ts';
import { fakeClock, type FakeClock } from '../helpers/clock.ts';

const FAST: Partial<GossipConfig> = {
  probeIntervalMs: 100, probeTimeoutMs: 50, gossipIntervalMs: 30, suspicionMult: 3, pushPullIntervalMs: 2000,
  leavePropagateDelayMs: 100, broadcastTimeoutMs: 2000,
};

/** The fake clock, with more real event-loop turns per fake ms than the in-memory simulations: real sockets. */
const clockFor = (t: ExecutionContext): FakeClock => fakeClock(t, { turns: 5 });

async function node(t: ExecutionContext, name: string, extra: Partial<GossipConfig> = {}): Promise<Serf> {
  const s = await Serf.create({ nodeName: name, bindAddr: '127.0.0.1', bindPort: 0, tags: { role: name }, ...FAST, ...extra });
  t.teardown(() => s.shutdown());
  return s;
}

async function cluster(t: ExecutionContext, clock: FakeClock, n: number, prefix: string, extra: Partial<GossipConfig> = {}): Promise<Serf[]> {
  const nodes: Serf[] = [];
  for (let i = 0; i < n; i++) nodes.push(await node(t, `${prefix}${i}`, extra));
  // Chain joins: each node only knows its predecessor; gossip must do the rest.
  for (let i = 1; i < n; i++) t.is(await clock.settle(nodes[i]!.join([`127.0.0.1:${nodes[i - 1]!.port}`]), 5000), 1);
  return nodes;
}

const statusOf = (s: Serf, name: string): string => s.members().find(m => m.name === name)?.status ?? 'none';
const allSee = (nodes: Serf[], name: string, status: string): boolean => nodes.every(s => statusOf(s, name) === status);

test.serial('cluster: five nodes joined in a chain converge with everyone alive and tags intact', async t => {
  const clock = clockFor(t);
  const nodes = await cluster(t, clock, 5, 'conv');
  const start = Date.now();
  t.true(await clock.until(() => nodes.every(s => s.members().filter(m => m.status === 'alive').length === 5), 5000), 'all nodes see 5 alive members');
  t.log(`converged ${Date.now() - start} ms after the last join`);
  for (const s of nodes) {
    for (const m of s.members()) {
      t.deepEqual(m.tags, { role: m.name });
      t.is(m.addr, '127.0.0.1');
      t.deepEqual([m.protocolMin, m.protocolMax, m.protocolCur, m.delegateMin, m.delegateMax, m.delegateCur], [1, 5, 2, 2, 5, 5]);
    }
  }
  t.is(nodes[0]!.localMember().name, 'conv0');
  t.is(nodes[0]!.stats().members, 5);
});

test.serial('cluster: a stopped node is detected as failed by every other node', async t => {
  const clock = clockFor(t);
  const nodes = await cluster(t, clock, 4, 'fail');
  t.true(await clock.until(() => nodes.every(s => s.members().length === 4), 5000));
  const failedEvents: string[] = [];
  for (const s of nodes.slice(0, 3)) s.on('member-failed', (ms: Member[]) => failedEvents.push(ms[0]!.name));
  const victim = nodes[3]!;
  const start = Date.now();
  await victim.shutdown();
  const live = nodes.slice(0, 3);
  t.true(await clock.until(() => allSee(live, 'fail3', 'failed'), 8000), 'all survivors mark it failed');
  t.log(`detected in ${Date.now() - start} ms`);
  t.deepEqual(failedEvents, ['fail3', 'fail3', 'fail3']);
  for (const s of live) t.is(s.stats().failed, 1);
  // The survivors never suspected each other for long enough to fail them.
  for (const s of live) t.is(s.members().filter(m => m.status === 'alive').length, 3);
});

test.serial('cluster: a false suspicion is refuted and the accused stays alive', async t => {
  const clock = clockFor(t);
  const nodes = await cluster(t, clock, 3, 'ref');
  t.true(await clock.until(() => nodes.every(s => s.members().length === 3), 5000));
  const [a, b] = [nodes[0]!, nodes[1]!];
  const failed: string[] = [];
  for (const s of nodes) s.on('member-failed', (ms: Member[]) => failed.push(`${s.localMember().name} failed ${ms[0]!.name}`));
  const incOf = (s: Serf, name: string): number => s.memberlistNodes().find(n => n.name === name)!.incarnation;
  const before = incOf(b, 'ref1');
  // Forge an accusation from a node that does not exist and send it to `a` over UDP.
  const sock = dgram.createSocket('udp4');
  t.teardown(() => sock.close());
  sock.send(encodeSuspect({ incarnation: incOf(a, 'ref1'), node: 'ref1', from: 'ghost' }), a.port, '127.0.0.1');
  t.true(await clock.until(() => a.memberlistNodes().find(n => n.name === 'ref1')!.state === 'suspect' || incOf(b, 'ref1') > before, 1000),
    'a suspects ref1 (or the refutation already happened)');
  t.true(await clock.until(() => incOf(b, 'ref1') > before, 3000), 'the accused bumped its incarnation to refute');
  t.true(await clock.until(() => nodes.every(s => incOf(s, 'ref1') > before && s.memberlistNodes().find(n => n.name === 'ref1')!.state === 'alive'), 3000),
    'everyone accepted the refutation');
  // Wait past the longest suspicion timeout (n = 3: SuspicionMult 3 × 100 ms = 300 ms, at most
  // SuspicionMaxTimeoutMult 6 × that = 1800 ms): nobody may have failed it.
  await clock.advance(2000);
  for (const s of nodes) t.is(statusOf(s, 'ref1'), 'alive');
  t.deepEqual(failed, [], 'no node ever marked it failed');
});

test.serial('cluster: graceful leave shows as left everywhere', async t => {
  const clock = clockFor(t);
  const nodes = await cluster(t, clock, 3, 'leave');
  t.true(await clock.until(() => nodes.every(s => s.members().length === 3), 5000));
  const events: string[] = [];
  nodes[0]!.on('member-leave', (ms: Member[]) => events.push(ms[0]!.name));
  nodes[0]!.on('member-failed', (ms: Member[]) => events.push(`failed:${ms[0]!.name}`));
  await clock.settle(nodes[2]!.leave(), 10_000);
  t.is(nodes[2]!.state, 'left');
  await nodes[2]!.shutdown();
  t.true(await clock.until(() => allSee(nodes.slice(0, 2), 'leave2', 'left'), 3000));
  await clock.advance(800);
  t.is(statusOf(nodes[0]!, 'leave2'), 'left', 'still left, not failed, after it stopped answering');
  t.deepEqual(events, ['leave2']);
  await clock.settle(t.throwsAsync(() => nodes[2]!.join([`127.0.0.1:${nodes[0]!.port}`])), 10_000);
});

test.serial('cluster: user events reach every node exactly once, with payload and coalesce flag', async t => {
  const clock = clockFor(t);
  const nodes = await cluster(t, clock, 4, 'ev');
  t.true(await clock.until(() => nodes.every(s => s.members().length === 4), 5000));
  const got = new Map<string, string[]>();
  for (const s of nodes) s.on('user', (e: { name: string; payload: Uint8Array; coalesce: boolean; ltime: number }) => {
    const list = got.get(s.localMember().name) ?? [];
    list.push(`${e.name}=${Buffer.from(e.payload).toString()}/${e.coalesce}`);
    got.set(s.localMember().name, list);
  });
  await clock.settle(nodes[1]!.userEvent('deploy', Buffer.from('v1'), false), 10_000);
  await clock.settle(nodes[3]!.userEvent('restart', Buffer.from('web')), 10_000);
  t.true(await clock.until(() => nodes.every(s => (got.get(s.localMember().name)?.length ?? 0) >= 2), 5000), JSON.stringify([...got]));
  await clock.advance(500);
  // Each node sees each event once. Gossiped events carry the coalesce flag; one learned through a
  // push/pull state exchange instead arrives with coalesce=false, exactly as Go's Serf replays them
  // (MergeRemoteState builds the messageUserEvent without CC), so "restart" may be either there.
  for (const s of nodes) {
    const list = got.get(s.localMember().name)!.sort();
    t.is(list.length, 2);
    t.is(list[0], 'deploy=v1/false');
    t.regex(list[1]!, /^restart=web\/(true|false)$/);
  }
  t.true(nodes.slice(0, 3).some(s => got.get(s.localMember().name)!.includes('restart=web/true')), 'the coalesce flag travels with gossiped events');
  await clock.settle(t.throwsAsync(() => nodes[0]!.userEvent('big', new Uint8Array(600)), { message: /limit/ }), 10_000);
});

test.serial('cluster: queries collect acks and responses, honour filters, and reject late responses', async t => {
  const clock = clockFor(t);
  const nodes = await cluster(t, clock, 4, 'q');
  t.true(await clock.until(() => nodes.every(s => s.members().length === 4), 5000));
  for (const s of nodes) {
    s.on('query', (q: { name: string; payload: Uint8Array; respond(b: Uint8Array): Promise<void> }) => {
      if (q.name === 'whoami') void q.respond(Buffer.from(`${s.localMember().name}:${Buffer.from(q.payload).toString()}`));
    });
  }
  const resp = await clock.settle(nodes[0]!.query('whoami', Buffer.from('x'), { requestAck: true, timeoutMs: 1500 }), 10_000);
  const acks: string[] = [];
  resp.on('ack', (from: string) => acks.push(from));
  const result = await clock.settle(resp.done, 10_000);
  t.deepEqual(result.acks.sort(), ['q0', 'q1', 'q2', 'q3']);
  t.deepEqual(result.responses.map(r => Buffer.from(r.payload).toString()).sort(), ['q0:x', 'q1:x', 'q2:x', 'q3:x']);
  t.true(resp.finished());

  const filtered = await clock.settle(nodes[0]!.query('whoami', Buffer.from('y'), { filterNodes: ['q2', 'q3'], timeoutMs: 1000 }), 10_000);
  t.deepEqual((await clock.settle(filtered.done, 10_000)).responses.map(r => r.from).sort(), ['q2', 'q3']);
  const byTag = await clock.settle(nodes[1]!.query('whoami', Buffer.from('z'), { filterTags: { role: 'q[01]$' }, timeoutMs: 1000, relayFactor: 1 }), 10_000);
  t.deepEqual((await clock.settle(byTag.done, 10_000)).responses.map(r => r.from).sort(), ['q0', 'q1']);

  // A responder that answers twice, or too late, gets an error.
  const errors: string[] = [];
  nodes[2]!.on('query', (q: { name: string; respond(b: Uint8Array): Promise<void> }) => {
    if (q.name !== 'slow') return;
    void q.respond(Buffer.from('first')).then(() => q.respond(Buffer.from('second'))).catch((e: Error) => errors.push(e.message));
  });
  nodes[3]!.on('query', (q: { name: string; respond(b: Uint8Array): Promise<void> }) => {
    if (q.name === 'slow') setTimeout(() => q.respond(Buffer.from('late')).catch((e: Error) => errors.push(e.message)), 700);
  });
  const slow = await clock.settle(nodes[0]!.query('slow', new Uint8Array(0), { timeoutMs: 400 }), 10_000);
  const sr = await clock.settle(slow.done, 10_000);
  t.deepEqual(sr.responses.map(r => Buffer.from(r.payload).toString()), ['first']);
  await clock.advance(600);
  t.deepEqual(errors.sort(), ['response already sent', 'response is past the deadline']);
});

test.serial('cluster: tag changes propagate as member-update', async t => {
  const clock = clockFor(t);
  const nodes = await cluster(t, clock, 3, 'tag');
  t.true(await clock.until(() => nodes.every(s => s.members().length === 3), 5000));
  const updates: Member[] = [];
  nodes[0]!.on('member-update', (ms: Member[]) => updates.push(...ms));
  await clock.settle(nodes[2]!.setTags({ role: 'tag2', zone: 'z1' }), 10_000);
  t.true(await clock.until(() => nodes.every(s => s.members().find(m => m.name === 'tag2')!.tags.zone === 'z1'), 3000));
  t.is(updates.length, 1);
  t.deepEqual(updates[0]!.tags, { role: 'tag2', zone: 'z1' });
  t.deepEqual(nodes[2]!.localMember().tags, { role: 'tag2', zone: 'z1' });
  await clock.settle(t.throwsAsync(() => nodes[0]!.setTags({ big: 'x'.repeat(600) }), { message: /limit/ }), 10_000);
});

test.serial('cluster: encrypted nodes join each other; wrong-key and plaintext nodes are refused', async t => {
  const clock = clockFor(t);
  const key = Buffer.alloc(32, 7).toString('base64');
  const a = await node(t, 'enc0', { encryptKey: key });
  const b = await node(t, 'enc1', { encryptKey: key });
  t.is(await clock.settle(b.join([`127.0.0.1:${a.port}`]), 10_000), 1);
  t.true(await clock.until(() => a.members().length === 2 && b.members().length === 2, 3000));
  const wrong = await node(t, 'enc2', { encryptKey: Buffer.alloc(16, 1).toString('base64') });
  await clock.settle(t.throwsAsync(() => wrong.join([`127.0.0.1:${a.port}`])), 10_000);
  const plain = await node(t, 'enc3');
  await clock.settle(t.throwsAsync(() => plain.join([`127.0.0.1:${a.port}`]), { message: /encrypt/i }), 10_000);
  // A key rotation: install the old key as secondary on a new node whose primary differs.
  const rotated = await node(t, 'enc4', { encryptKey: Buffer.alloc(24, 3).toString('base64'), extraKeys: [key] });
  await clock.advance(300);
  t.is(a.members().length, 2, 'refused nodes never appeared');
  t.true(a.stats().encrypted);
  await clock.settle(t.throwsAsync(() => rotated.join([`127.0.0.1:${a.port}`]), undefined, 'a peer cannot read our new primary key'), 10_000);
  a.getKeyring()!.addKey(Buffer.alloc(24, 3));
  b.getKeyring()!.addKey(Buffer.alloc(24, 3));
  t.is(await clock.settle(rotated.join([`127.0.0.1:${a.port}`]), 10_000), 1);
  t.true(await clock.until(() => a.members().length === 3 && rotated.members().length === 3, 3000));
});

test.serial('cluster: left and failed members are reaped after the tombstone/reconnect timeouts', async t => {
  const clock = clockFor(t);
  const timing = { reapIntervalMs: 200, tombstoneTimeoutMs: 500, reconnectTimeoutMs: 800, reconnectIntervalMs: 100000 };
  const nodes = await cluster(t, clock, 4, 'reap', timing);
  t.true(await clock.until(() => nodes.every(s => s.members().length === 4), 5000));
  const reaped: string[] = [];
  nodes[0]!.on('member-reap', (ms: Member[]) => reaped.push(`${ms[0]!.name}:${ms[0]!.status}`));
  await clock.settle(nodes[3]!.leave(), 10_000); await nodes[3]!.shutdown();
  await nodes[2]!.shutdown();
  t.true(await clock.until(() => statusOf(nodes[0]!, 'reap2') === 'failed', 6000));
  t.true(await clock.until(() => reaped.length === 2, 4000));
  t.deepEqual(reaped.sort(), ['reap2:failed', 'reap3:left']);
  t.deepEqual(nodes[0]!.members().map(m => m.name).sort(), ['reap0', 'reap1']);
});

test.serial('cluster: force-leave turns a failed member into left (and prune erases it)', async t => {
  const clock = clockFor(t);
  const nodes = await cluster(t, clock, 4, 'force');
  t.true(await clock.until(() => nodes.every(s => s.members().length === 4), 5000));
  await nodes[3]!.shutdown();
  await nodes[2]!.shutdown();
  const live = nodes.slice(0, 2);
  t.true(await clock.until(() => allSee(live, 'force3', 'failed') && allSee(live, 'force2', 'failed'), 8000));
  await clock.settle(nodes[0]!.forceLeave('force3'), 10_000);
  t.true(await clock.until(() => allSee(live, 'force3', 'left'), 3000));
  await clock.settle(nodes[1]!.forceLeave('force2', true), 10_000);
  t.true(await clock.until(() => live.every(s => statusOf(s, 'force2') === 'none'), 3000), 'pruned from the member list');
});

test.serial('cluster: join failures are reported, and a restarted node rejoins as alive', async t => {
  const clock = clockFor(t);
  const a = await node(t, 'rj0');
  const b = await node(t, 'rj1');
  await clock.settle(t.throwsAsync(() => a.join(['127.0.0.1:1']), { message: /Failed to join/ }), 10_000);
  t.is(await clock.settle(b.join([`127.0.0.1:1`, `127.0.0.1:${a.port}`]), 10_000), 1, 'one of two seeds worked');
  t.true(await clock.until(() => a.members().length === 2, 3000));
  const port = b.port;
  await b.shutdown();
  t.true(await clock.until(() => statusOf(a, 'rj1') === 'failed', 6000));
  const b2 = await node(t, 'rj1', { bindPort: port });
  await clock.settle(b2.join([`127.0.0.1:${a.port}`]), 10_000);
  t.true(await clock.until(() => statusOf(a, 'rj1') === 'alive', 3000), 'failed → alive after the restart');
});
