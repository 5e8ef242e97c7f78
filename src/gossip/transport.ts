/**
 * @module Transports for memberlist: UDP packets and TCP streams on the same port
 * ({@link NetTransport}), behind a small interface so simulations can swap in an in-memory network.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Duplex } from 'node:stream';

/** Callback for an incoming datagram. */
export type PacketHandler = (buf: Uint8Array, fromAddr: string, fromPort: number) => void;
/** Callback for an accepted stream connection. */
export type StreamHandler = (conn: Duplex, remote: string) => void;

/** Traffic counters (bytes are payload bytes, without IP/UDP/TCP headers). */
export interface TransportCounters {
  packetsSent: number; packetBytesSent: number; packetsReceived: number; packetBytesReceived: number;
  streamsOpened: number; streamsAccepted: number; streamBytesSent: number;
}

/** What memberlist needs from the network. */
export interface Transport {
  /** Address actually bound (for advertising when no advertise address is configured). */
  readonly localAddr: string;
  /** Port actually bound (UDP and TCP share it). */
  readonly localPort: number;
  readonly counters: TransportCounters;
  setHandlers(onPacket: PacketHandler, onStream: StreamHandler): void;
  /** Fire-and-forget datagram. */
  sendPacket(addr: string, port: number, buf: Uint8Array): void;
  /** Opens a stream connection; rejects on refusal or after `timeoutMs`. */
  dialStream(addr: string, port: number, timeoutMs: number): Promise<Duplex>;
  /** Counts stream bytes written by memberlist (the transport cannot see them otherwise). */
  countStreamWrite(n: number): void;
  close(): Promise<void>;
}

/** Fresh zeroed counters. */
export function newCounters(): TransportCounters {
  return { packetsSent: 0, packetBytesSent: 0, packetsReceived: 0, packetBytesReceived: 0, streamsOpened: 0, streamsAccepted: 0, streamBytesSent: 0 };
}

/** UDP + TCP on one port via node:dgram and node:net. */
export class NetTransport implements Transport {
  readonly counters = newCounters();
  #udp: dgram.Socket;
  #tcp: net.Server;
  #addr: string;
  #port: number;
  #onPacket: PacketHandler = () => {};
  #onStream: StreamHandler = c => c.destroy();
  #conns = new Set<net.Socket>();
  #closed = false;

  private constructor(udp: dgram.Socket, tcp: net.Server, addr: string, port: number) {
    this.#udp = udp; this.#tcp = tcp; this.#addr = addr; this.#port = port;
    udp.on('message', (msg, rinfo) => {
      this.counters.packetsReceived++; this.counters.packetBytesReceived += msg.length;
      this.#onPacket(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), rinfo.address, rinfo.port);
    });
    udp.on('error', () => {});
    tcp.on('connection', sock => {
      if (this.#closed) { sock.destroy(); return; }
      this.counters.streamsAccepted++;
      this.#track(sock);
      this.#onStream(sock, `${sock.remoteAddress}:${sock.remotePort}`);
    });
  }

  /** Binds UDP and TCP to `bindAddr:bindPort` (port 0 picks a free port usable by both). */
  static async listen(bindAddr: string, bindPort: number): Promise<NetTransport> {
    const family = net.isIPv6(bindAddr) ? 'udp6' : 'udp4';
    let lastErr: unknown;
    for (let attempt = 0; attempt < (bindPort === 0 ? 20 : 1); attempt++) {
      const tcp = net.createServer({ noDelay: true });
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen({ host: bindAddr, port: bindPort, exclusive: true }, () => { tcp.off('error', reject); resolve(); });
        });
      } catch (e) { lastErr = e; continue; }
      const port = (tcp.address() as net.AddressInfo).port;
      const udp = dgram.createSocket({ type: family, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind({ address: bindAddr, port, exclusive: true }, () => { udp.off('error', reject); resolve(); });
        });
      } catch (e) {
        lastErr = e; udp.close(); await new Promise<void>(r => tcp.close(() => r()));
        continue;
      }
      return new NetTransport(udp, tcp, bindAddr, port);
    }
    throw lastErr instanceof Error ? lastErr : new Error(`cannot bind ${bindAddr}:${bindPort}`);
  }

  get localAddr(): string { return this.#addr; }
  get localPort(): number { return this.#port; }

  setHandlers(onPacket: PacketHandler, onStream: StreamHandler): void {
    this.#onPacket = onPacket; this.#onStream = onStream;
  }

  sendPacket(addr: string, port: number, buf: Uint8Array): void {
    if (this.#closed) return;
    this.counters.packetsSent++; this.counters.packetBytesSent += buf.length;
    this.#udp.send(buf, port, addr, () => {});
  }

  dialStream(addr: string, port: number, timeoutMs: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      if (this.#closed) { reject(new Error('transport closed')); return; }
      const sock = net.connect({ host: addr, port, noDelay: true });
      const timer = setTimeout(() => { sock.destroy(); reject(new Error(`dial ${addr}:${port} timed out`)); }, Math.max(1, timeoutMs));
      sock.once('error', e => { clearTimeout(timer); reject(e); });
      sock.once('connect', () => {
        clearTimeout(timer);
        this.counters.streamsOpened++;
        this.#track(sock);
        resolve(sock);
      });
    });
  }

  countStreamWrite(n: number): void {
    this.counters.streamBytesSent += n;
  }

  #track(sock: net.Socket): void {
    this.#conns.add(sock);
    sock.once('close', () => this.#conns.delete(sock));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#conns) c.destroy();
    await Promise.all([
      new Promise<void>(r => this.#tcp.close(() => r())),
      new Promise<void>(r => { try { this.#udp.close(() => r()); } catch { r(); } }),
    ]);
  }
}
