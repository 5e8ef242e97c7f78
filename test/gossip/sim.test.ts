/**
 * Serf nodes on the in-memory network (MemNetwork): lets tests cut specific paths, drop every
 * datagram, or isolate a node, which real loopback sockets cannot do. Time is a fake clock
 * (test/helpers/clock.ts: node:test mock timers and Date, 1 ms steps with the network's
 * setImmediate deliveries in between), so every duration below is protocol time, exact and
 * independent of machine load; the tests run serially (the mock is process-wide).
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { Serf, MemNetwork } from '../../src/gossip/index.ts';
import type { GossipConfig, Member } from '../../src/gossip/index.ts';
import { fakeClock, type FakeClock } from '../helpers/clock.ts';

const FAST: Partial<GossipConfig> = { probeIntervalMs: 100, probeTimeoutMs: 50, gossipIntervalMs: 30, suspicionMult: 3, pushPullIntervalMs: 5000 };

interface SimNode { serf: Serf; key: string; logs: string[] }

async function simCluster(t: ExecutionContext, clock: FakeClock, net: MemNetwork, n: number, prefix: string, extra: Partial<GossipConfig> = {}): Promise<SimNode[]> {
  const out: SimNode[] = [];
  for (let i = 0; i < n; i++) {
    const transport = net.listen('127.0.0.1');
    const logs: string[] = [];
    const serf = await Serf.create({
      nodeName: `${prefix}${i}`, bindAddr: '127.0.0.1', bindPort: transport.localPort, transport, ...FAST, ...extra,
      logger: (level, msg, fields) => { if (level !== 'debug') logs.push(`${msg} ${JSON.stringify(fields ?? {})}`); },
    });
    t.teardown(() => serf.shutdown());
    out.push({ serf, key: transport.key, logs });
  }
  for (let i = 1; i < n; i++) await clock.settle(out[i]!.serf.join([`127.0.0.1:${out[0]!.serf.port}`]), 5000, 'the join');
  t.true(await clock.until(() => out.every(x => x.serf.members().filter(m => m.status === 'alive').length === n), 5000), 'cluster converged');
  return out;
}

const status = (s: Serf, name: string): string => s.members().find(m => m.name === name)?.status ?? 'none';

test.serial('sim: indirect probes (ping-req) keep a node alive when the direct path is cut', async t => {
  const clock = fakeClock(t);
  const net = new MemNetwork();
  // 200 ms for the relayed round trip (probe timeout → deadline), so a loaded test box is not a factor.
  const nodes = await simCluster(t, clock, net, 4, 'ind', { probeIntervalMs: 300, probeTimeoutMs: 100 });
  const [a, b] = [nodes[0]!, nodes[1]!];
  net.block(a.key, b.key);
  await clock.advance(4000);
  const suspicions = a.logs.filter(l => l.includes('suspect node has failed') && l.includes('"ind1"'));
  t.deepEqual(suspicions, [], 'a never suspected b: acks came back through the other nodes');
  t.is(b.logs.filter(l => l.includes('suspect node has failed') && l.includes('"ind0"')).length, 0);
  for (const n of nodes) t.is(n.serf.members().filter(m => m.status === 'alive').length, 4);
  // Control: once b is cut from everyone, the same code does suspect and fail it.
  for (const n of nodes.slice(2)) net.block(n.key, b.key);
  t.true(await clock.until(() => [nodes[0]!, nodes[2]!, nodes[3]!].every(n => status(n.serf, 'ind1') === 'failed'), 6000));
});

test.serial('sim: Lifeguard — an isolated node raises its own health score; healthy nodes get nacks and do not', async t => {
  const clock = fakeClock(t);
  const net = new MemNetwork();
  // Nacks are sent ProbeTimeout after the ping-req arrives; with ProbeTimeout < interval/2 they
  // reliably beat the requester's deadline (at exactly half, as in Go's LAN defaults, it is a race).
  const nodes = await simCluster(t, clock, net, 5, 'lg', { probeTimeoutMs: 30 });
  const victim = nodes[4]!;
  net.isolated.add(victim.key);
  t.true(await clock.until(() => victim.serf.stats().healthScore >= 4, 6000), `isolated node score ${victim.serf.stats().healthScore}`);
  t.true(await clock.until(() => nodes.slice(0, 4).every(n => status(n.serf, 'lg4') === 'failed'), 8000));
  for (const n of nodes.slice(0, 4)) t.true(n.serf.stats().healthScore <= 1, `healthy node score ${n.serf.stats().healthScore}`);
  t.true(nodes.slice(0, 4).some(n => n.logs.some(l => l.includes('suspect node has failed'))));
});

test.serial('sim: the local health score scales the probe interval (fewer probes while unhealthy)', async t => {
  const clock = fakeClock(t);
  const net = new MemNetwork();
  const nodes = await simCluster(t, clock, net, 4, 'scale', { pushPullIntervalMs: 0 });
  const victim = nodes[3]!;
  net.isolated.add(victim.key);
  t.true(await clock.until(() => victim.serf.stats().healthScore >= 6, 10000));
  const before = victim.serf.stats().packetsSent;
  await clock.advance(1500);
  const sent = victim.serf.stats().packetsSent - before;
  // Healthy: ~15 probe rounds in 1.5 s (each ping + up to 3 ping-reqs). At score ≥ 6 a round lasts ≥ 700 ms.
  t.true(sent <= 12, `isolated node sent ${sent} packets in 1.5 s`);
});

test.serial('sim: periodic TCP push-pull spreads membership even when every datagram is lost', async t => {
  const clock = fakeClock(t);
  const net = new MemNetwork();
  const nodes = await simCluster(t, clock, net, 2, 'pp', { pushPullIntervalMs: 300 });
  net.packetLoss = 1;
  const transport = net.listen('127.0.0.1');
  const late = await Serf.create({ nodeName: 'pp-late', bindAddr: '127.0.0.1', bindPort: transport.localPort, transport, ...FAST, pushPullIntervalMs: 300 });
  t.teardown(() => late.shutdown());
  const failed: string[] = [];
  for (const s of [nodes[0]!.serf, nodes[1]!.serf, late]) s.on('member-failed', (ms: Member[]) => failed.push(ms[0]!.name));
  await clock.settle(late.join([`127.0.0.1:${nodes[0]!.serf.port}`]), 5000, "pp-late's join");
  t.true(await clock.until(() => status(nodes[1]!.serf, 'pp-late') === 'alive', 4000), 'pp1 learned about pp-late through anti-entropy only');
  t.true(await clock.until(() => status(late, 'pp1') === 'alive', 4000));
  await clock.advance(1500);
  // UDP probes all fail, but the TCP fallback ping reaches every node: nobody is failed.
  for (const s of [nodes[0]!.serf, nodes[1]!.serf, late]) t.is(s.members().filter(m => m.status === 'alive').length, 3);
  t.deepEqual(failed, [], 'and never was');
  t.true(nodes[0]!.logs.some(l => l.includes('was able to connect over TCP')), 'TCP fallback was exercised');
});

test.serial('sim: suspicion confirmations from several nodes shorten failure detection toward the minimum', async t => {
  const clock = fakeClock(t);
  const net = new MemNetwork();
  // n = 6, SuspicionMult 4: min = 400 ms, max = 2400 ms, k = 2 confirmations expected.
  const nodes = await simCluster(t, clock, net, 6, 'conf', { suspicionMult: 4 });
  const failedAt: number[] = [];
  const start = Date.now();
  for (const n of nodes.slice(0, 5)) n.serf.on('member-failed', (ms: Member[]) => { if (ms[0]!.name === 'conf5') failedAt.push(Date.now() - start); });
  await nodes[5]!.serf.shutdown();
  t.true(await clock.until(() => failedAt.length === 5, 6000));
  const first = Math.min(...failedAt);
  t.log(`failure detected after ${failedAt.sort((x, y) => x - y).join(', ')} fake ms`);
  t.true(first < 2000, 'well under the 2400 ms unconfirmed maximum');
  t.true(nodes.slice(0, 5).some(n => n.logs.some(l => /confirmations":[12]/.test(l))), 'a timer shortened by peer confirmations fired');
});

test.serial('sim: memberlist drops dead nodes after GossipToTheDeadTime while Serf keeps them failed', async t => {
  const clock = fakeClock(t);
  const net = new MemNetwork();
  const nodes = await simCluster(t, clock, net, 3, 'dead', { gossipToTheDeadTimeMs: 500 });
  await nodes[2]!.serf.shutdown();
  t.true(await clock.until(() => status(nodes[0]!.serf, 'dead2') === 'failed', 5000));
  t.true(await clock.until(() => !nodes[0]!.serf.memberlistNodes().some(n => n.name === 'dead2'), 3000), 'reaped from the probe list');
  t.is(status(nodes[0]!.serf, 'dead2'), 'failed');
});

test.serial('sim: reconnect brings a failed member back after a partition heals', async t => {
  const clock = fakeClock(t);
  const net = new MemNetwork();
  const nodes = await simCluster(t, clock, net, 2, 'rc', { reconnectIntervalMs: 300, pushPullIntervalMs: 0 });
  net.isolated.add(nodes[1]!.key);
  t.true(await clock.until(() => status(nodes[0]!.serf, 'rc1') === 'failed' && status(nodes[1]!.serf, 'rc0') === 'failed', 6000));
  net.isolated.delete(nodes[1]!.key);
  t.true(await clock.until(() => status(nodes[0]!.serf, 'rc1') === 'alive' && status(nodes[1]!.serf, 'rc0') === 'alive', 5000), 'healed through Serf reconnect');
});
