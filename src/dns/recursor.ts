/**
 * @module Forwarding to the configured recursors (Consul's handleRecurse and resolveCNAME).
 *
 * The client's message goes out byte for byte over the client's transport, one upstream at a
 * time in `sequential` (config) or `random` order, each with `recursor_timeout`. NOERROR and
 * NXDOMAIN replies (and truncated ones) are relayed unchanged — same bytes, so the client's ID,
 * flags and upstream compression are kept; anything else, a reply that does not unpack, or a
 * timeout moves on to the next upstream. All failing → the caller answers SERVFAIL.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Logger } from '../log.ts';
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

/** One UDP exchange: resolves with the first reply carrying our ID from that upstream, or null on timeout. */
export function exchangeUDP(msg: Buffer, to: Recursor, timeoutMs: number): Promise<Buffer | null> {
  return new Promise(resolve => {
    const family = parseIP(to.host)?.length === 16 ? 'udp6' : 'udp4';
    const sock = dgram.createSocket(family);
    let done = false;
    const finish = (v: Buffer | null): void => {
      if (done) return;
      done = true; clearTimeout(timer);
      try { sock.close(); } catch { /* already closed */ }
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    sock.on('error', () => finish(null));
    sock.on('message', (m, rinfo) => {
      if (rinfo.port !== to.port || m.length < 12 || m[0] !== msg[0] || m[1] !== msg[1] || !(m[2]! & 0x80)) return;
      finish(m);
    });
    sock.send(msg, to.port, to.host, err => { if (err) finish(null); });
  });
}

/** One TCP exchange (length-prefixed), or null on error/timeout. */
export function exchangeTCP(msg: Buffer, to: Recursor, timeoutMs: number): Promise<Buffer | null> {
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
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
  });
}

/** Forwards a client's query; the upstream reply unchanged, or null when every recursor failed. */
export async function forward(msg: Buffer, transport: 'udp' | 'tcp', rt: DnsRuntime, log?: Logger): Promise<Buffer | null> {
  for (const r of recursorOrder(rt)) {
    const reply = transport === 'tcp' ? await exchangeTCP(msg, r, rt.recursorTimeoutMs) : await exchangeUDP(msg, r, rt.recursorTimeoutMs);
    if (!reply) { log?.debug('dns: recurse failed', { recursor: `${r.host}:${r.port}` }); continue; }
    const rcode = checkMessage(reply);
    const tc = (reply[2]! & 0x02) !== 0;
    if (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN || (tc && rcode >= 0)) return reply;
    log?.debug('dns: recurse failed', { recursor: `${r.host}:${r.port}`, rcode });
  }
  log?.error('dns: all resolvers failed');
  return null;
}

let nextId = Math.floor(Math.random() * 0xffff);

/** Resolves an out-of-zone hostname's A records through the recursors (UDP), as Consul's resolveCNAME does. */
export async function resolveExternal(name: string, rt: DnsRuntime): Promise<RR[]> {
  nextId = (nextId + 1) & 0xffff;
  const q = dnsPacket.encode({ id: nextId, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: name.replace(/\.$/, ''), type: 'A', class: 'IN' }] });
  for (const r of recursorOrder(rt)) {
    const reply = await exchangeUDP(q, r, rt.recursorTimeoutMs);
    if (!reply) continue;
    try {
      const p = dnsPacket.decode(reply);
      const out: RR[] = [];
      for (const a of p.answers ?? []) {
        const owner = a.name.endsWith('.') ? a.name : a.name + '.';
        const ttl = 'ttl' in a && typeof a.ttl === 'number' ? a.ttl : 0;
        if (a.type === 'A' || a.type === 'AAAA') {
          const ip = parseIP(String(a.data));
          if (ip) out.push(rrA(owner, ttl, ip));
        } else if (a.type === 'CNAME') {
          const t = String(a.data);
          out.push(rrName(owner, T.CNAME, ttl, t.endsWith('.') ? t : t + '.'));
        }
      }
      return out;
    } catch { continue; }
  }
  return [];
}
