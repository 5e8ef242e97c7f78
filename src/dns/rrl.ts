/**
 * @module Response-rate limiting (RRL) of UDP answers, modelled on BIND's and Knot's: each
 * (client prefix, response class) pair has a token bucket of `responsesPerSecond`; a response
 * past it is dropped, except every `slip`-th, which goes out as a small TC=1 reply (header and
 * question only) so a real client behind a spoofed prefix retries over TCP, which cannot be
 * spoofed. The bucket's debt is bounded by `window` seconds of rate, so a prefix is limited for
 * at most `window` seconds after its flood stops. Response classes follow BIND: a positive
 * answer or NODATA per (qname, qtype), every NXDOMAIN of the prefix together (random names share
 * one bucket), every error together. Clients are grouped by /24 (IPv4) and /56 (IPv6).
 * TCP is never limited; loopback sources are exempt unless `exemptLoopback` is off.
 */
import { parseIP } from './wire.ts';
import type { RateLimitConfig } from '../config/schema.ts';

export type Verdict = 'send' | 'slip' | 'drop';

interface Bucket { balance: number; last: number; limited: number }

/** Whether rate limiting is on for a server listening on `clientAddr` (space-separated). */
export function rateLimitOn(cfg: RateLimitConfig, clientAddr: string): boolean {
  if (cfg.enabled !== 'auto') return cfg.enabled;
  return clientAddr.split(/\s+/).filter(Boolean).some(h => !isLoopback(h));
}

export function isLoopback(addr: string): boolean {
  return addr.startsWith('127.') || addr === '::1' || addr === 'localhost' || addr.startsWith('::ffff:127.');
}

export class ResponseRateLimiter {
  readonly #o: RateLimitConfig;
  readonly #now: () => number;
  readonly #table = new Map<string, Bucket>();
  /** Responses sent as TC=1 instead of the answer, and responses dropped. */
  slipped = 0;
  dropped = 0;

  /** `now` returns seconds (injectable: fake clocks in tests). */
  constructor(o: RateLimitConfig, now: () => number = () => performance.now() / 1000) {
    this.#o = o; this.#now = now;
  }

  get size(): number { return this.#table.size; }

  /** What to do with `reply` to a UDP client at `addr`. */
  check(addr: string, reply: Buffer): Verdict {
    if (this.#o.exemptLoopback && isLoopback(addr)) return 'send';
    const key = this.#prefix(addr) + responseClass(reply);
    const rate = this.#o.responsesPerSecond;
    const t = this.#now();
    let b = this.#table.get(key);
    if (!b) {
      if (this.#table.size >= this.#o.tableSize) this.#evict();
      b = { balance: rate, last: t, limited: 0 };
      this.#table.set(key, b);
    } else {
      b.balance = Math.min(rate, b.balance + (t - b.last) * rate);
      b.last = t;
    }
    b.balance = Math.max(b.balance - 1, -rate * this.#o.window);
    if (b.balance >= 0) return 'send';
    b.limited++;
    if (this.#o.slip > 0 && b.limited % this.#o.slip === 0) { this.slipped++; return 'slip'; }
    this.dropped++;
    return 'drop';
  }

  #prefix(addr: string): string {
    let ip = parseIP(addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr);
    if (!ip) return addr + '|';
    const bits = ip.length === 4 ? this.#o.ipv4PrefixLength : this.#o.ipv6PrefixLength;
    ip = ip.slice();
    for (let i = 0; i < ip.length; i++) {
      const keep = Math.max(0, Math.min(8, bits - i * 8));
      ip[i]! &= (0xff << (8 - keep)) & 0xff;
    }
    return Buffer.from(ip).toString('hex') + '/' + bits + '|';
  }

  #evict(): void {
    let n = Math.max(1, this.#o.tableSize >> 4);
    for (const k of this.#table.keys()) { if (n-- <= 0) break; this.#table.delete(k); }
  }
}

/** BIND's response classes: answer/NODATA per qname+qtype, NXDOMAIN together, errors together. */
function responseClass(reply: Buffer): string {
  if (reply.length < 12) return 'e';
  const rcode = reply[3]! & 0x0f;
  if (rcode === 3) return 'nx';
  if (rcode !== 0) return 'e';
  const end = questionEnd(reply);
  if (end < 0) return 'e';
  return 'q' + reply.toString('latin1', 12, end).toLowerCase();
}

/** Offset just past the (uncompressed) question, or -1. */
export function questionEnd(m: Buffer): number {
  if (m.readUInt16BE(4) === 0) return 12;
  let o = 12;
  while (o < m.length) {
    const l = m[o]!;
    if (l === 0) return o + 5 <= m.length ? o + 5 : -1;
    if (l & 0xc0) return -1;
    o += l + 1;
  }
  return -1;
}

/** The slip reply: the answer's header with TC=1 and the question, no records (as BIND and Knot slip). */
export function slipReply(reply: Buffer): Buffer {
  const end = questionEnd(reply);
  const out = Buffer.from(reply.subarray(0, end < 0 ? 12 : end));
  out[2]! |= 0x02;
  if (end < 0) out.writeUInt16BE(0, 4);
  out.writeUInt16BE(0, 6); out.writeUInt16BE(0, 8); out.writeUInt16BE(0, 10);
  return out;
}
