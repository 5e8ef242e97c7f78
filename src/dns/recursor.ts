/**
 * @module Forwarding to the configured recursors (Consul's handleRecurse and resolveCNAME).
 *
 * The client's message goes out byte for byte over the client's transport, one upstream at a
 * time in `sequential` (config) or `random` order, each with `recursor_timeout`. NOERROR and
 * NXDOMAIN replies (and truncated ones) are relayed unchanged — same bytes, so the client's ID,
 * flags and upstream compression are kept; anything else, a reply that does not unpack, or a
 * timeout moves on to the next upstream. All failing → the caller answers SERVFAIL. Sockets and
 * the in-flight cap: forwarder.ts.
 */
import Packet from 'native-dns-packet';
import type { Forwarder } from './forwarder.ts';
import type { LogThrottle } from './log-throttle.ts';
import type { DnsRuntime, Recursor } from './runtime.ts';
import { checkMessage } from './request.ts';
import { T, RCODE, parseIP, rrA, rrName } from './wire.ts';
import type { RR } from './wire.ts';

/** The order to try recursors in: config order, or a fresh random permutation per query. */
export function recursorOrder(rt: DnsRuntime): Recursor[] {
  const r = [...rt.recursors];
  if (rt.recursorRandom) {
    for (let i = r.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [r[i], r[j]] = [r[j]!, r[i]!];
    }
  }
  return r;
}

/** Why a forward produced no reply: every recursor failed, or the in-flight cap was reached. */
export type ForwardFailure = 'failed' | 'busy';

/**
 * Forwards a client's query; the upstream reply unchanged, or why there is none. Failures are
 * counted and logged once per interval by `errs`, never once per query.
 */
export async function forward(msg: Buffer, transport: 'udp' | 'tcp', rt: DnsRuntime, fwd: Forwarder, errs: LogThrottle): Promise<Buffer | ForwardFailure> {
  if (!fwd.acquire(rt.recursorMaxInFlight)) {
    errs.note('warn', 'dns: forwarded queries at the in-flight limit, answering SERVFAIL', { limit: rt.recursorMaxInFlight });
    return 'busy';
  }
  try {
    for (const r of recursorOrder(rt)) {
      const reply = transport === 'tcp' ? await fwd.exchangeTCP(msg, r, rt.recursorTimeoutMs) : await fwd.exchangeUDP(msg, r, rt.recursorTimeoutMs);
      if (!reply) continue;
      const rcode = checkMessage(reply);
      const tc = (reply[2]! & 0x02) !== 0;
      if (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN || (tc && rcode >= 0)) return reply;
    }
  } finally { fwd.release(); }
  errs.note('error', 'dns: all resolvers failed', { recursors: rt.recursors.map(r => `${r.host}:${r.port}`).join(',') });
  return 'failed';
}

let nextId = Math.floor(Math.random() * 0xffff);

/** Resolves an out-of-zone hostname's A records through the recursors (UDP), as Consul's resolveCNAME does. */
export async function resolveExternal(name: string, rt: DnsRuntime, fwd: Forwarder): Promise<RR[]> {
  if (!fwd.acquire(rt.recursorMaxInFlight)) return [];
  try { return await resolveVia(name, rt, fwd); } finally { fwd.release(); }
}

async function resolveVia(name: string, rt: DnsRuntime, fwd: Forwarder): Promise<RR[]> {
  nextId = (nextId + 1) & 0xffff;
  const qp = new Packet();
  qp.header.id = nextId;
  qp.header.rd = 1;
  qp.question.push({ name: name.replace(/\.$/, ''), type: T.A, class: 1 });
  const qbuf = Buffer.alloc(512);
  const q = qbuf.subarray(0, Packet.write(qbuf, qp));
  for (const r of recursorOrder(rt)) {
    const reply = await fwd.exchangeUDP(q, r, rt.recursorTimeoutMs);
    if (!reply) continue;
    try {
      // An independent decoder (native-dns-packet) for what another server wrote.
      const p = Packet.parse(reply);
      const out: RR[] = [];
      for (const a of p.answer ?? []) {
        const owner = a.name.endsWith('.') ? a.name : a.name + '.';
        const ttl = typeof a.ttl === 'number' ? a.ttl : 0;
        if (a.type === T.A || a.type === T.AAAA) {
          const ip = parseIP(String(a.address));
          if (ip) out.push(rrA(owner, ttl, ip));
        } else if (a.type === T.CNAME) {
          const t = String(a.data);
          out.push(rrName(owner, T.CNAME, ttl, t.endsWith('.') ? t : t + '.'));
        }
      }
      return out;
    } catch { continue; }
  }
  return [];
}
