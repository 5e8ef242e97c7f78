/**
 * @module memberlist: SWIM failure detection with Lifeguard, gossip dissemination and TCP
 * anti-entropy, wire-compatible with HashiCorp memberlist (protocol 2, understands up to 5).
 * Serf drives this through {@link MemberlistDelegate}; it can also be used on its own.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { MemberlistNet } from './net.ts';
import { deadOrLeft } from './state.ts';
import type { NodeState, MemberlistDelegate } from './state.ts';
import type { MemberlistConfig } from './config.ts';
import { META_MAX_SIZE } from './config.ts';
import type { Transport } from './transport.ts';
import type { Keyring } from './keyring.ts';
import { ipToBytes, bytesToIp } from './codec.ts';
import { NodeStateType, encodePing, encodeSuspect, encodeIndirectPing, makeCompound, makeCompounds } from './messages.ts';
import type { Ping } from './messages.ts';

/** Push-pull interval scaling above 32 nodes: × (ceil(log2 n − log2 32) + 1). */
export function pushPullScale(intervalMs: number, n: number): number {
  if (n <= 32) return intervalMs;
  return (Math.ceil(Math.log2(n) - Math.log2(32)) + 1) * intervalMs;
}

/** Picks the address to announce when bound to a wildcard address. */
export function defaultAdvertiseAddr(bindAddr: string): string {
  if (bindAddr !== '0.0.0.0' && bindAddr !== '::') return bindAddr;
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.family === 'IPv4' && !i.internal) return i.address;
    }
  }
  return '127.0.0.1';
}

/** Splits "host", "host:port", "[v6]:port" into parts (port defaults to `defPort`). */
export function splitHostPort(s: string, defPort: number): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : defPort };
  if (isIP(s) === 6) return { host: s, port: defPort };
  const i = s.lastIndexOf(':');
  if (i < 0) return { host: s, port: defPort };
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

/** A running memberlist instance. */
export class Memberlist extends MemberlistNet {
  #gossipTimer: NodeJS.Timeout | null = null;
  #started = false;

  constructor(config: MemberlistConfig, delegate: MemberlistDelegate, transport: Transport, keyring: Keyring | null) {
    super({ ...config, advertiseAddr: config.advertiseAddr ?? defaultAdvertiseAddr(transport.localAddr) }, delegate, transport, keyring);
  }

  /** Announces ourselves to the local table and starts the probe, gossip and push-pull loops. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const self = this.advertise();
    const meta = this.delegate.nodeMeta(META_MAX_SIZE);
    if (meta.length > META_MAX_SIZE) throw new Error('node meta data is longer than the limit');
    this.aliveNode({ incarnation: this.nextIncarnation(), node: this.config.name, addr: ipToBytes(self.addr), port: self.port, meta, vsn: this.buildVsn() }, null, true);
    void this.#probeLoop();
    this.#gossipTimer = setInterval(() => this.gossip(), this.config.gossipIntervalMs);
    if (this.config.pushPullIntervalMs > 0) void this.#pushPullLoop();
  }

  protected sleep(ms: number): Promise<void> {
    return new Promise(r => this.later(ms, r));
  }

  async #probeLoop(): Promise<void> {
    const interval = this.config.probeIntervalMs;
    await this.sleep(Math.random() * interval);
    while (!this.shutdownFlag) {
      const start = Date.now();
      try { await this.probe(); } catch (e) { this.log('error', 'memberlist: probe failed', { err: String(e) }); }
      if (this.shutdownFlag) return;
      // Like a Go ticker: ticks missed while a (scaled) probe ran are skipped.
      await this.sleep(interval - ((Date.now() - start) % interval));
    }
  }

  async #pushPullLoop(): Promise<void> {
    await this.sleep(Math.random() * this.config.pushPullIntervalMs);
    while (!this.shutdownFlag) {
      await this.pushPull();
      await this.sleep(pushPullScale(this.config.pushPullIntervalMs, this.estNumNodes()));
    }
  }

  /** Periodic anti-entropy with one random alive peer. */
  protected async pushPull(): Promise<void> {
    const [node] = this.kRandomNodes(1, n => n.name === this.config.name || n.state !== NodeStateType.alive);
    if (!node || this.shutdownFlag) return;
    try {
      await this.pushPullNode(bytesToAddr(node.addr), node.port, false);
    } catch (e) {
      this.log('error', 'memberlist: push/pull failed', { node: node.name, err: String(e) });
    }
  }

  /** Picks the next node round-robin (reshuffling and reaping on wrap) and probes it. */
  protected async probe(): Promise<void> {
    let numCheck = 0;
    for (;;) {
      if (numCheck >= this.nodes.length) return;
      if (this.probeIndex >= this.nodes.length) {
        this.resetNodes();
        this.probeIndex = 0;
        numCheck++;
        continue;
      }
      const node = this.nodes[this.probeIndex++]!;
      if (node.name === this.config.name || deadOrLeft(node)) { numCheck++; continue; }
      await this.probeNode(node);
      return;
    }
  }

  /** One SWIM round against `node`: ping, then ping-req through k peers plus a TCP ping. */
  protected async probeNode(node: NodeState): Promise<void> {
    const probeInterval = this.awareness.scaleTimeout(this.config.probeIntervalMs);
    const self = this.advertise();
    const incarnation = node.incarnation;
    const addr = bytesToAddr(node.addr);
    const ping: Ping = { seqNo: this.nextSeqNo(), node: node.name, sourceAddr: ipToBytes(self.addr), sourcePort: self.port, sourceNode: this.config.name };
    let nacks = 0;
    let settle!: (r: { ok: boolean; at: number; payload: Uint8Array | null }) => void;
    const acked = new Promise<{ ok: boolean; at: number; payload: Uint8Array | null }>(r => { settle = r; });
    const sent = Date.now();
    this.setAckHandler(ping.seqNo, (payload, at) => settle({ ok: true, at, payload }), () => { nacks++; }, probeInterval,
      () => settle({ ok: false, at: Date.now(), payload: null }));
    const deadline = sent + probeInterval;
    let awarenessDelta = 0;
    try {
      if (node.state === NodeStateType.alive) {
        this.sendMsg(addr, node.port, encodePing(ping), node);
      } else {
        // Tack on a suspect so the node gets a chance to refute as soon as possible.
        const s = encodeSuspect({ incarnation, node: node.name, from: this.config.name });
        this.rawSendMsgPacket(addr, node.port, node, makeCompound([encodePing(ping), s]));
      }
      awarenessDelta = -1;
      const first = await Promise.race([acked, this.sleep(this.config.probeTimeoutMs).then(() => null)]);
      if (first?.ok) {
        this.delegate.notifyPingComplete(node, first.at - sent, first.payload);
        return;
      }
      if (this.shutdownFlag) return;
      const peers = this.kRandomNodes(this.config.indirectChecks, n => n.name === this.config.name || n.name === node.name || n.state !== NodeStateType.alive);
      let expectedNacks = 0;
      for (const peer of peers) {
        const nack = (peer.vsn[1] ?? 0) >= 4;
        if (nack) expectedNacks++;
        const ind = encodeIndirectPing({ seqNo: ping.seqNo, target: node.addr, port: node.port, node: node.name, nack, sourceAddr: ipToBytes(self.addr), sourcePort: self.port, sourceNode: this.config.name });
        this.sendMsg(bytesToAddr(peer.addr), peer.port, ind, peer);
      }
      const fallback = !this.config.disableTcpPings && (node.vsn[1] ?? 0) >= 3
        ? this.sendPingAndWaitForAck(addr, node.port, ping, deadline) : Promise.resolve(false);
      const r = await acked;
      if (r.ok) return;
      if (await fallback) {
        this.log('warn', 'memberlist: was able to connect over TCP but UDP probes failed, network may be misconfigured', { node: node.name });
        return;
      }
      if (this.shutdownFlag) return;
      awarenessDelta = expectedNacks > 0 ? Math.max(0, expectedNacks - nacks) : 1;
      this.log('info', 'memberlist: suspect node has failed, no acks received', { node: node.name });
      this.suspectNode({ incarnation, node: node.name, from: this.config.name });
    } finally {
      this.awareness.applyDelta(awarenessDelta);
    }
  }

  /** Sends queued broadcasts to up to GossipNodes random live (or recently dead) peers. */
  protected gossip(): void {
    if (this.shutdownFlag) return;
    const now = Date.now();
    const peers = this.kRandomNodes(this.config.gossipNodes, n => {
      if (n.name === this.config.name) return true;
      if (n.state === NodeStateType.alive || n.state === NodeStateType.suspect) return false;
      if (n.state === NodeStateType.dead) return now - n.stateChange > this.config.gossipToTheDeadTimeMs;
      return true;
    });
    const budget = this.packetBudget();
    for (const peer of peers) {
      const msgs = this.getBroadcasts(2, budget);
      if (msgs.length === 0) return;
      const addr = bytesToAddr(peer.addr);
      if (msgs.length === 1) this.rawSendMsgPacket(addr, peer.port, peer, msgs[0]!);
      else for (const c of makeCompounds(msgs)) this.rawSendMsgPacket(addr, peer.port, peer, c);
    }
  }

  /** Joins through each address ("host", "host:port", "[v6]:port"); returns successes and errors. */
  async join(existing: readonly string[]): Promise<{ joined: number; errors: Error[] }> {
    let joined = 0;
    const errors: Error[] = [];
    for (const spec of existing) {
      const { host, port } = splitHostPort(spec, this.config.bindPort);
      let addrs: string[];
      try {
        addrs = isIP(host) ? [host] : (await lookup(host, { all: true })).map(a => a.address);
      } catch (e) { errors.push(new Error(`Failed to resolve ${spec}: ${String(e)}`)); continue; }
      for (const a of addrs) {
        try {
          await this.pushPullNode(a, port, true);
          joined++;
        } catch (e) {
          errors.push(new Error(`Failed to join ${a}:${port}: ${e instanceof Error ? e.message : String(e)}`));
          this.log('debug', 'memberlist: join failed', { addr: `${a}:${port}`, err: String(e) });
        }
      }
    }
    return { joined, errors };
  }

  /** Broadcasts our own `dead` (From = us, i.e. left) and waits until it went out or `timeoutMs`. */
  async leave(timeoutMs: number): Promise<void> {
    if (this.shutdownFlag) throw new Error('leave after shutdown');
    if (this.leaving) return;
    this.leaving = true;
    const state = this.nodeMap.get(this.config.name);
    if (!state) return;
    let done!: () => void;
    const sent = new Promise<void>(r => { done = r; });
    this.deadNode({ incarnation: state.incarnation, node: state.name, from: state.name }, () => done());
    if (this.anyAlive()) await this.#waitOrTimeout(sent, timeoutMs, 'timeout waiting for leave broadcast');
  }

  /** Re-reads our meta from the delegate and gossips it with a new incarnation. */
  async updateNode(timeoutMs: number): Promise<void> {
    const meta = this.delegate.nodeMeta(META_MAX_SIZE);
    const state = this.nodeMap.get(this.config.name);
    if (!state) throw new Error('local node missing');
    let done!: () => void;
    const sent = new Promise<void>(r => { done = r; });
    this.aliveNode({ incarnation: this.nextIncarnation(), node: state.name, addr: state.addr, port: state.port, meta, vsn: this.buildVsn() }, () => done(), true);
    if (this.anyAlive()) await this.#waitOrTimeout(sent, timeoutMs, 'timeout waiting for update broadcast');
  }

  async #waitOrTimeout(p: Promise<void>, ms: number, msg: string): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((_, reject) => { t = setTimeout(() => reject(new Error(msg)), ms); });
    try { await Promise.race([p, timeout]); } finally { clearTimeout(t); }
  }

  /** Stops all loops and closes the transport, without leaving (peers will see us fail). */
  async shutdown(): Promise<void> {
    if (this.shutdownFlag) return;
    this.shutdownFlag = true;
    if (this.#gossipTimer) clearInterval(this.#gossipTimer);
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    for (const s of this.nodeTimers.values()) s.stop();
    this.nodeTimers.clear();
    for (const h of this.ackHandlers.values()) clearTimeout(h.timer);
    this.ackHandlers.clear();
    await this.transport.close();
  }

  /** True once {@link leave} started. */
  get hasLeft(): boolean { return this.leaving; }
  /** True once {@link shutdown} ran. */
  get hasShutdown(): boolean { return this.shutdownFlag; }

  /** Nodes that are alive or suspect (memberlist Members()). */
  members(): NodeState[] {
    return this.nodes.filter(n => !deadOrLeft(n));
  }

  /** Count of alive or suspect nodes, including us. */
  numMembers(): number {
    return this.members().length;
  }

  /** All known nodes, including dead ones not yet reaped. */
  allNodes(): NodeState[] {
    return [...this.nodes];
  }

  /** Our own node. */
  localNode(): NodeState {
    return this.nodeMap.get(this.config.name)!;
  }

  /** Looks up a node by name. */
  node(name: string): NodeState | undefined {
    return this.nodeMap.get(name);
  }

  /** Transport counters (bytes/packets). */
  get counters(): Transport['counters'] { return this.transport.counters; }
}

function bytesToAddr(b: Uint8Array): string {
  return bytesToIp(b);
}
