/**
 * @module In-memory network for simulations and deterministic tests: datagrams can be dropped
 * with a configurable probability and delayed; streams are reliable in-process duplex pairs.
 */
import { duplexPair } from 'node:stream';
import type { Duplex } from 'node:stream';
import { newCounters } from './transport.ts';
import type { Transport, PacketHandler, StreamHandler, TransportCounters } from './transport.ts';

/** Options for {@link MemNetwork}. */
export interface MemNetworkOptions {
  /** Probability (0..1) that a datagram is dropped. */
  packetLoss?: number;
  /** One-way datagram latency in ms (0 = next macrotask). */
  latencyMs?: number;
  /** Random source (for reproducible runs). */
  random?: () => number;
}

/** A simulated network of {@link MemTransport}s addressed by `addr:port`. */
export class MemNetwork {
  packetLoss: number;
  latencyMs: number;
  readonly random: () => number;
  readonly nodes = new Map<string, MemTransport>();
  /** Keys `addr:port` whose traffic (both directions) is blackholed. */
  readonly isolated = new Set<string>();
  /** Pairs `a|b` of keys whose direct traffic (packets and streams) is blocked. */
  readonly blockedPairs = new Set<string>();
  #nextPort = 20000;
  dropped = 0;

  constructor(opts: MemNetworkOptions = {}) {
    this.packetLoss = opts.packetLoss ?? 0;
    this.latencyMs = opts.latencyMs ?? 0;
    this.random = opts.random ?? Math.random;
  }

  /** Creates a transport on `addr` (port 0 = next free). */
  listen(addr = '127.0.0.1', port = 0): MemTransport {
    const p = port || this.#nextPort++;
    const key = `${addr}:${p}`;
    if (this.nodes.has(key)) throw new Error(`address in use ${key}`);
    const t = new MemTransport(this, addr, p);
    this.nodes.set(key, t);
    return t;
  }

  /** Blocks (or unblocks) all direct traffic between two `addr:port` keys. */
  block(a: string, b: string, blocked = true): void {
    for (const k of [`${a}|${b}`, `${b}|${a}`]) { if (blocked) this.blockedPairs.add(k); else this.blockedPairs.delete(k); }
  }

  /** @internal */
  cut(from: string, to: string): boolean {
    return this.isolated.has(from) || this.isolated.has(to) || this.blockedPairs.has(`${from}|${to}`);
  }

  /** @internal */
  deliver(from: MemTransport, addr: string, port: number, buf: Uint8Array): void {
    const key = `${addr}:${port}`;
    const to = this.nodes.get(key);
    if (!to || this.cut(from.key, key) || this.random() < this.packetLoss) { this.dropped++; return; }
    const copy = new Uint8Array(buf);
    const run = (): void => { to.receive(copy, from.localAddr, from.localPort); };
    if (this.latencyMs > 0) setTimeout(run, this.latencyMs); else setImmediate(run);
  }
}

/** One node's endpoint on a {@link MemNetwork}. */
export class MemTransport implements Transport {
  readonly counters: TransportCounters = newCounters();
  readonly localAddr: string;
  readonly localPort: number;
  readonly key: string;
  #net: MemNetwork;
  #onPacket: PacketHandler = () => {};
  #onStream: StreamHandler = c => c.destroy();
  #streams = new Set<Duplex>();
  closed = false;

  constructor(network: MemNetwork, addr: string, port: number) {
    this.#net = network; this.localAddr = addr; this.localPort = port; this.key = `${addr}:${port}`;
  }

  setHandlers(onPacket: PacketHandler, onStream: StreamHandler): void {
    this.#onPacket = onPacket; this.#onStream = onStream;
  }

  sendPacket(addr: string, port: number, buf: Uint8Array): void {
    if (this.closed) return;
    this.counters.packetsSent++; this.counters.packetBytesSent += buf.length;
    this.#net.deliver(this, addr, port, buf);
  }

  /** @internal */
  receive(buf: Uint8Array, fromAddr: string, fromPort: number): void {
    if (this.closed) return;
    this.counters.packetsReceived++; this.counters.packetBytesReceived += buf.length;
    this.#onPacket(buf, fromAddr, fromPort);
  }

  dialStream(addr: string, port: number, _timeoutMs: number): Promise<Duplex> {
    const key = `${addr}:${port}`;
    const to = this.#net.nodes.get(key);
    if (this.closed || !to || to.closed || this.#net.cut(this.key, key)) {
      return Promise.reject(new Error(`connect ECONNREFUSED ${key}`));
    }
    const [a, b] = duplexPair();
    this.counters.streamsOpened++;
    this.#streams.add(a); to.#streams.add(b);
    a.once('close', () => this.#streams.delete(a)); b.once('close', () => to.#streams.delete(b));
    setImmediate(() => { to.counters.streamsAccepted++; to.#onStream(b, this.key); });
    return Promise.resolve(a);
  }

  countStreamWrite(n: number): void {
    this.counters.streamBytesSent += n;
  }

  close(): Promise<void> {
    this.closed = true;
    this.#net.nodes.delete(this.key);
    for (const s of this.#streams) s.destroy();
    return Promise.resolve();
  }
}
