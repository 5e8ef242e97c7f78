/**
 * Gossip simulation: N in-process Serf members in one Node.js process.
 *
 *   node bench/gossip-sim.ts [--nodes 200] [--transport udp|mem] [--loss 0.1] [--fp-seconds 120]
 *                            [--trials 5] [--slow-members 4] [--slow-delay-ms 12000] [--skip-nolifeguard]
 *                            [--traffic-seconds 30] [--traffic-only]
 *
 * transport=udp: every member binds its own UDP+TCP port on 127.0.0.1 (real sockets).
 * transport=mem: the in-memory MemNetwork (no kernel involved).
 * Packet loss is injected on send: each datagram is dropped with probability p. TCP streams stay
 * reliable, except that a dial fails with probability 1-(1-p)^2 after min(1 s, deadline), which
 * models a lost SYN or SYN-ACK (Linux retransmits the SYN after 1 s, past memberlist's deadline).
 * "Slow members" (the Lifeguard paper's scenario): a few members process every inbound datagram
 * and stream, and the result of each of its own dials, `slow-delay-ms` late, as a stalled process
 * would. False positives are counted against healthy members only, separately for healthy
 * observers and for the stalled observers' own view.
 * All timings are memberlist DefaultLANConfig / Serf defaults unless stated.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cpus, totalmem } from 'node:os';
import type { Duplex } from 'node:stream';
import { Serf, NetTransport, MemNetwork } from '../src/gossip/index.ts';
import type { GossipConfig, Member, Transport, TransportCounters } from '../src/gossip/index.ts';

// ------------------------------------------------------------------ options
const argv = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def;
};
const N = Number(opt('nodes', '200'));
const TRANSPORT = opt('transport', 'udp');
const LOSS = Number(opt('loss', '0.1'));
const FP_SECONDS = Number(opt('fp-seconds', '120'));
const TRIALS = Number(opt('trials', '5'));
const SLOW_MEMBERS = Number(opt('slow-members', '4'));
const SLOW_DELAY = Number(opt('slow-delay-ms', '12000'));
const SKIP_NOLG = argv.includes('--skip-nolifeguard');
const TRAFFIC_SECONDS = Number(opt('traffic-seconds', '30'));
const TRAFFIC_ONLY = argv.includes('--traffic-only');

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));
const log = (...a: unknown[]): void => { console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a); };

// ---------------------------------------------------------- lossy transport
/** Shared, mutable loss probability. */
const loss = { p: 0 };

class LossyTransport implements Transport {
  readonly inner: Transport;
  dropped = 0;
  /** Inbound processing delay (ms) for a simulated stalled member. */
  delayMs = 0;
  constructor(inner: Transport) { this.inner = inner; }
  get localAddr(): string { return this.inner.localAddr; }
  get localPort(): number { return this.inner.localPort; }
  get counters(): TransportCounters { return this.inner.counters; }
  setHandlers(...[onPacket, onStream]: Parameters<Transport['setHandlers']>): void {
    this.inner.setHandlers(
      (buf, addr, port) => { if (this.delayMs > 0) { const copy = new Uint8Array(buf); setTimeout(() => onPacket(copy, addr, port), this.delayMs); } else onPacket(buf, addr, port); },
      (conn, remote) => { if (this.delayMs > 0) setTimeout(() => onStream(conn, remote), this.delayMs); else onStream(conn, remote); },
    );
  }
  sendPacket(addr: string, port: number, buf: Uint8Array): void {
    if (loss.p > 0 && Math.random() < loss.p) {
      // Count it as sent (it left the node), but never deliver it.
      this.dropped++; this.inner.counters.packetsSent++; this.inner.counters.packetBytesSent += buf.length;
      return;
    }
    this.inner.sendPacket(addr, port, buf);
  }
  async dialStream(addr: string, port: number, timeoutMs: number): Promise<Duplex> {
    if (this.delayMs > 0) {
      // A stalled member also sees the outcome of its own dials late (TCP fallback pings included).
      await sleep(Math.min(this.delayMs, timeoutMs));
      if (this.delayMs >= timeoutMs) throw new Error('dial timed out (stalled member)');
    }
    if (loss.p > 0 && Math.random() < 1 - (1 - loss.p) ** 2) {
      await sleep(Math.min(1000, timeoutMs));
      throw new Error('dial timed out (simulated SYN loss)');
    }
    return this.inner.dialStream(addr, port, timeoutMs);
  }
  countStreamWrite(n: number): void { this.inner.countStreamWrite(n); }
  close(): Promise<void> { return this.inner.close(); }
}

const memNet = new MemNetwork();
async function makeTransport(): Promise<LossyTransport> {
  const inner = TRANSPORT === 'mem' ? memNet.listen('127.0.0.1') : await NetTransport.listen('127.0.0.1', 0);
  return new LossyTransport(inner);
}

// ------------------------------------------------------------------ cluster
interface SimNode { serf: Serf; name: string; transport: LossyTransport; suspicions: number; refutes: number }

let seq = 0;
async function startNode(extra: Partial<GossipConfig>): Promise<SimNode> {
  const transport = await makeTransport();
  const name = `n${seq++}`;
  const node: SimNode = { serf: undefined as unknown as Serf, name, transport, suspicions: 0, refutes: 0 };
  node.serf = await Serf.create({
    nodeName: name, bindAddr: '127.0.0.1', bindPort: transport.localPort, transport, ...extra,
    logger: (level, msg) => {
      if (level === 'info' && msg.startsWith('memberlist: suspect node')) node.suspicions++;
      else if (level === 'warn' && msg.startsWith('memberlist: refuting')) node.refutes++;
    },
  });
  return node;
}

const aliveCount = (s: Serf): number => s.members().filter(m => m.status === 'alive').length;

async function startCluster(n: number, extra: Partial<GossipConfig>): Promise<{ nodes: SimNode[]; ms: number }> {
  const start = Date.now();
  const nodes: SimNode[] = [await startNode(extra)];
  // Join in waves: each new member contacts one random existing member.
  while (nodes.length < n) {
    const wave = Math.min(10, n - nodes.length);
    const fresh = await Promise.all(Array.from({ length: wave }, () => startNode(extra)));
    await Promise.all(fresh.map(f => {
      const seed = nodes[Math.floor(Math.random() * nodes.length)]!;
      return f.serf.join([`127.0.0.1:${seed.serf.port}`]);
    }));
    nodes.push(...fresh);
  }
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !nodes.every(x => aliveCount(x.serf) === n)) await sleep(250);
  const ok = nodes.every(x => aliveCount(x.serf) === n);
  log(`cluster of ${n} ${ok ? 'converged' : 'NOT converged'} in ${Date.now() - start} ms`);
  if (!ok) throw new Error('bootstrap did not converge');
  return { nodes, ms: Date.now() - start };
}

async function stopCluster(nodes: SimNode[]): Promise<void> {
  await Promise.all(nodes.map(x => x.serf.shutdown()));
}

// ------------------------------------------------------------ measurements
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A fresh member joins through one random member; time until every member emitted member-join. */
async function joinConvergence(nodes: SimNode[], extra: Partial<GossipConfig>): Promise<{ first: number; median: number; all: number }> {
  const fresh = await startNode(extra);
  const seen: number[] = [];
  const listeners = nodes.map(x => {
    const fn = (ms: Member[]): void => { if (ms[0]!.name === fresh.name) seen.push(Date.now()); };
    x.serf.on('member-join', fn);
    return (): void => { x.serf.off('member-join', fn); };
  });
  const seed = nodes[Math.floor(Math.random() * nodes.length)]!;
  const t0 = Date.now();
  await fresh.serf.join([`127.0.0.1:${seed.serf.port}`]);
  const deadline = Date.now() + 60_000;
  while (seen.length < nodes.length && Date.now() < deadline) await sleep(20);
  listeners.forEach(off => off());
  nodes.push(fresh);
  const rel = seen.map(t => t - t0).sort((a, b) => a - b);
  if (rel.length < nodes.length - 1) log(`join: only ${rel.length}/${nodes.length - 1} saw it`);
  return { first: rel[0]!, median: pct(rel, 50), all: rel.at(-1)! };
}

/** Stops one member without leaving; time until the first and the last member report it failed. */
async function failureDetection(nodes: SimNode[]): Promise<{ first: number; median: number; all: number }> {
  const idx = Math.floor(Math.random() * nodes.length);
  const victim = nodes.splice(idx, 1)[0]!;
  const seen: number[] = [];
  const listeners = nodes.map(x => {
    const fn = (ms: Member[]): void => { if (ms[0]!.name === victim.name) seen.push(Date.now()); };
    x.serf.on('member-failed', fn);
    return (): void => { x.serf.off('member-failed', fn); };
  });
  const t0 = Date.now();
  await victim.serf.shutdown();
  const deadline = Date.now() + 90_000;
  while (seen.length < nodes.length && Date.now() < deadline) await sleep(20);
  listeners.forEach(off => off());
  const rel = seen.map(t => t - t0).sort((a, b) => a - b);
  if (rel.length < nodes.length) log(`failure: only ${rel.length}/${nodes.length} detected it`);
  return { first: rel[0]!, median: pct(rel, 50), all: rel.at(-1)! };
}

function totalBytes(nodes: SimNode[]): { pkt: number; bytes: number; stream: number } {
  let pkt = 0, bytes = 0, stream = 0;
  for (const x of nodes) { const s = x.serf.stats(); pkt += s.packetsSent; bytes += s.packetBytesSent; stream += s.streamBytesSent; }
  return { pkt, bytes, stream };
}

/** Steady-state traffic per member per second over `seconds`. */
async function traffic(nodes: SimNode[], seconds: number): Promise<{ pktPerSec: number; udpBytesPerSec: number; tcpBytesPerSec: number }> {
  const a = totalBytes(nodes);
  await sleep(seconds * 1000);
  const b = totalBytes(nodes);
  const d = nodes.length * seconds;
  return { pktPerSec: (b.pkt - a.pkt) / d, udpBytesPerSec: (b.bytes - a.bytes) / d, tcpBytesPerSec: (b.stream - a.stream) / d };
}

/** Runs `seconds` with packet loss and no real failures; every member-failed is a false positive. */
async function falsePositives(nodes: SimNode[], p: number, seconds: number, slow: SimNode[] = []): Promise<Record<string, number>> {
  let fp = 0; let aboutSlow = 0; let atStalled = 0; const victims = new Set<string>();
  const slowNames = new Set(slow.map(x => x.name));
  for (const x of slow) x.transport.delayMs = SLOW_DELAY;
  const listeners = nodes.map(x => {
    const fn = (ms: Member[]): void => {
      if (slowNames.has(ms[0]!.name)) { aboutSlow++; return; }
      if (slowNames.has(x.name)) { atStalled++; return; } // a stalled member's own (local) view
      fp++; victims.add(ms[0]!.name);
    };
    x.serf.on('member-failed', fn);
    return (): void => { x.serf.off('member-failed', fn); };
  });
  const s0 = nodes.reduce((a, x) => a + x.suspicions, 0);
  const r0 = nodes.reduce((a, x) => a + x.refutes, 0);
  const before = totalBytes(nodes);
  loss.p = p;
  const maxScore: number[] = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    await sleep(1000);
    maxScore.push(Math.max(...nodes.map(x => x.serf.stats().healthScore)));
  }
  loss.p = 0;
  for (const x of slow) x.transport.delayMs = 0;
  const after = totalBytes(nodes);
  listeners.forEach(off => off());
  const nodeSeconds = nodes.length * seconds;
  const probes = nodeSeconds; // one probe round per member per second (LAN ProbeInterval)
  const suspicions = nodes.reduce((a, x) => a + x.suspicions, 0) - s0;
  // Let the cluster heal before the next phase.
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && !nodes.every(x => aliveCount(x.serf) === nodes.length)) await sleep(500);
  if (!nodes.every(x => aliveCount(x.serf) === nodes.length)) log('warning: cluster did not fully heal');
  return {
    seconds, loss: p, members: nodes.length, slowMembers: slow.length, slowDelayMs: slow.length ? SLOW_DELAY : 0,
    failedEventsAboutSlowMembers: aboutSlow,
    /** member-failed events emitted by stalled members about healthy members (their local view). */
    falsePositivesAtStalledObservers: atStalled,
    probeSuspicions: suspicions,
    suspicionsPerProbe: suspicions / probes,
    refutations: nodes.reduce((a, x) => a + x.refutes, 0) - r0,
    /** member-failed events at healthy observers about healthy members. */
    falsePositiveEvents: fp,
    falselyFailedMembers: victims.size,
    fpPerMemberHour: fp / nodeSeconds * 3600,
    maxHealthScoreSeen: Math.max(...maxScore),
    udpBytesPerMemberSec: (after.bytes - before.bytes) / nodeSeconds,
    tcpBytesPerMemberSec: (after.stream - before.stream) / nodeSeconds,
  };
}

// --------------------------------------------------------------------- run
async function main(): Promise<void> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu0 = process.cpuUsage(); const wall0 = Date.now();
  log(`nodes=${N} transport=${TRANSPORT} loss=${LOSS} fp-seconds=${FP_SECONDS} trials=${TRIALS}`);
  const results: Record<string, unknown> = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memGB: Math.round(totalmem() / 2 ** 30), node: process.version },
    config: { nodes: N, transport: TRANSPORT, loss: LOSS, fpSeconds: FP_SECONDS, trials: TRIALS, slowMembers: SLOW_MEMBERS, slowDelayMs: SLOW_DELAY, timings: 'memberlist DefaultLANConfig, Serf defaults' },
  };

  const lan: Partial<GossipConfig> = {};
  const { nodes, ms: bootMs } = await startCluster(N, lan);
  results.bootstrapMs = bootMs;

  // Let the join broadcasts drain (12 transmissions each) before measuring steady-state traffic.
  await sleep(30_000);
  log(`steady-state traffic (${TRAFFIC_SECONDS} s, no loss)`);
  results.trafficNoLoss = { seconds: TRAFFIC_SECONDS, ...await traffic(nodes, TRAFFIC_SECONDS) };
  if (TRAFFIC_ONLY) {
    await stopCluster(nodes);
    console.log(JSON.stringify(results, null, 2));
    return;
  }

  const joins = [];
  for (let i = 0; i < TRIALS; i++) { joins.push(await joinConvergence(nodes, lan)); log('join', joins.at(-1)); await sleep(2000); }
  results.joinConvergence = { trials: joins, meanAllMs: mean(joins.map(j => j.all)), meanMedianMs: mean(joins.map(j => j.median)) };

  const fails = [];
  for (let i = 0; i < TRIALS; i++) { fails.push(await failureDetection(nodes)); log('failure', fails.at(-1)); await sleep(3000); }
  results.failureDetection = {
    trials: fails, meanFirstMs: mean(fails.map(f => f.first)), meanMedianMs: mean(fails.map(f => f.median)), meanAllMs: mean(fails.map(f => f.all)),
  };

  log(`false positives with Lifeguard (${FP_SECONDS} s at ${LOSS * 100}% loss)`);
  results.falsePositivesLifeguard = await falsePositives(nodes, LOSS, FP_SECONDS);
  log(results.falsePositivesLifeguard);
  if (SLOW_MEMBERS > 0) {
    log(`false positives with Lifeguard (${FP_SECONDS} s, ${SLOW_MEMBERS} members stalled by ${SLOW_DELAY} ms)`);
    results.slowMembersLifeguard = await falsePositives(nodes, 0, FP_SECONDS, nodes.slice(0, SLOW_MEMBERS));
    log(results.slowMembersLifeguard);
  }
  await stopCluster(nodes);

  if (!SKIP_NOLG) {
    // Same protocol without Lifeguard: no probe-interval scaling, fixed (minimum) suspicion timeout.
    const swim: Partial<GossipConfig> = { awarenessMaxMultiplier: 1, suspicionMaxTimeoutMult: 1 };
    const c2 = await startCluster(N, swim);
    await sleep(3000);
    log(`false positives without Lifeguard (${FP_SECONDS} s at ${LOSS * 100}% loss)`);
    results.falsePositivesNoLifeguard = await falsePositives(c2.nodes, LOSS, FP_SECONDS);
    log(results.falsePositivesNoLifeguard);
    if (SLOW_MEMBERS > 0) {
      log(`false positives without Lifeguard (${FP_SECONDS} s, ${SLOW_MEMBERS} members stalled by ${SLOW_DELAY} ms)`);
      results.slowMembersNoLifeguard = await falsePositives(c2.nodes, 0, FP_SECONDS, c2.nodes.slice(0, SLOW_MEMBERS));
      log(results.slowMembersNoLifeguard);
    }
    await stopCluster(c2.nodes);
  }

  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  results.process = {
    wallSeconds: (Date.now() - wall0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6,
    eventLoopDelayP50Ms: loop.percentile(50) / 1e6, eventLoopDelayP99Ms: loop.percentile(99) / 1e6, eventLoopDelayMaxMs: loop.max / 1e6,
  };
  console.log(JSON.stringify(results, null, 2));
}

await main();
process.exit(0);
