/**
 * @module The sockets forwarded queries travel on, shared and bounded.
 *
 * At most `maxInFlight` exchanges (UDP or TCP, client queries and CNAME-target lookups alike) are
 * outstanding at once; past it `acquire` fails at once and the caller answers SERVFAIL, as
 * dnsmasq does past `dns-forward-max` (150 by default, Roster's default too). A UDP socket
 * carries one exchange at a time (the client's ID and bytes go out unchanged, as CoreDNS's
 * forward plugin reuses its sockets) and goes back to a small idle pool when its exchange got an
 * answer; a socket whose exchange timed out is closed, so a late reply can never meet the next
 * query, and a pooled socket is retired after `REUSE_MAX` exchanges or `IDLE_MS` idle, so the
 * source port keeps changing (RFC 5452 §9.2). Open UDP sockets ≤ maxInFlight + POOL_MAX.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { parseIP } from './wire.ts';
import type { Recursor } from './runtime.ts';

const POOL_MAX = 16;
const REUSE_MAX = 64;
const IDLE_MS = 10_000;

interface PooledSocket { sock: dgram.Socket; uses: number; idleSince: number; onReply: ((m: Buffer, port: number, addr: string) => void) | null }

export class Forwarder {
  #inFlight = 0;
  readonly #idle: Record<'udp4' | 'udp6', PooledSocket[]> = { udp4: [], udp6: [] };
  #sweep: NodeJS.Timeout | undefined;
  #open = 0;

  /** Exchanges outstanding now. */
  get inFlight(): number { return this.#inFlight; }
  /** UDP sockets open now (in use + idle). */
  get openSockets(): number { return this.#open; }

  /** Takes a slot; false when `max` exchanges are already outstanding. Pair with release(). */
  acquire(max: number): boolean {
    if (this.#inFlight >= max) return false;
    this.#inFlight++;
    return true;
  }

  release(): void { this.#inFlight--; }

  /** One UDP exchange: the first reply from `to` carrying our ID with QR set, or null on timeout/error. */
  exchangeUDP(msg: Buffer, to: Recursor, timeoutMs: number): Promise<Buffer | null> {
    const family = parseIP(to.host)?.length === 16 ? 'udp6' : 'udp4';
    const ps = this.#take(family);
    return new Promise(resolve => {
      let done = false;
      const finish = (v: Buffer | null, reusable: boolean): void => {
        if (done) return;
        done = true; clearTimeout(timer);
        ps.onReply = null;
        this.#give(family, ps, reusable);
        resolve(v);
      };
      const timer = setTimeout(() => finish(null, false), timeoutMs);
      const want = parseIP(to.host);
      ps.onReply = (m, port, addr) => {
        if (port !== to.port || !sameIP(parseIP(addr), want) || m.length < 12 || m[0] !== msg[0] || m[1] !== msg[1] || !(m[2]! & 0x80)) return;
        finish(m, true);
      };
      ps.sock.send(msg, to.port, to.host, err => { if (err) finish(null, false); });
    });
  }

  /** One TCP exchange (length-prefixed), or null on error/timeout. */
  exchangeTCP(msg: Buffer, to: Recursor, timeoutMs: number): Promise<Buffer | null> {
    return new Promise(resolve => {
      const sock = net.connect({ host: to.host, port: to.port });
      let buf = Buffer.alloc(0);
      let done = false;
      const finish = (v: Buffer | null): void => {
        if (done) return;
        done = true; clearTimeout(timer); sock.destroy(); resolve(v);
      };
      const timer = setTimeout(() => finish(null), timeoutMs);
      sock.on('error', () => finish(null));
      sock.on('close', () => finish(null));
      sock.on('connect', () => {
        const len = Buffer.alloc(2); len.writeUInt16BE(msg.length);
        sock.write(Buffer.concat([len, msg]));
      });
      sock.on('data', d => {
        buf = Buffer.concat([buf, d]);
        if (buf.length > 0x10001) return finish(null);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
    });
  }

  /** Closes every idle socket (sockets in use close when their exchange ends). */
  close(): void {
    clearInterval(this.#sweep); this.#sweep = undefined;
    for (const f of ['udp4', 'udp6'] as const) for (const ps of this.#idle[f].splice(0)) this.#closeSock(ps);
  }

  #take(family: 'udp4' | 'udp6'): PooledSocket {
    const pooled = this.#idle[family].pop();
    if (pooled) return pooled;
    const sock = dgram.createSocket(family);
    const ps: PooledSocket = { sock, uses: 0, idleSince: 0, onReply: null };
    sock.on('message', (m, rinfo) => ps.onReply?.(m, rinfo.port, rinfo.address));
    sock.on('error', () => { /* the exchange's timeout settles it */ });
    this.#open++;
    return ps;
  }

  #give(family: 'udp4' | 'udp6', ps: PooledSocket, reusable: boolean): void {
    ps.uses++;
    const pool = this.#idle[family];
    if (!reusable || ps.uses >= REUSE_MAX || pool.length >= POOL_MAX) { this.#closeSock(ps); return; }
    ps.idleSince = Date.now();
    pool.push(ps);
    if (!this.#sweep) {
      this.#sweep = setInterval(() => this.#retireIdle(), IDLE_MS);
      this.#sweep.unref();
    }
  }

  #retireIdle(): void {
    const cutoff = Date.now() - IDLE_MS;
    for (const f of ['udp4', 'udp6'] as const) {
      const keep: PooledSocket[] = [];
      for (const ps of this.#idle[f]) if (ps.idleSince > cutoff) keep.push(ps); else this.#closeSock(ps);
      this.#idle[f] = keep;
    }
    if (!this.#idle.udp4.length && !this.#idle.udp6.length) { clearInterval(this.#sweep); this.#sweep = undefined; }
  }

  #closeSock(ps: PooledSocket): void {
    this.#open--;
    try { ps.sock.close(); } catch { /* already closed */ }
  }
}

function sameIP(a: ArrayLike<number> | null, b: ArrayLike<number> | null): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
