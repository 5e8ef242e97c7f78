/**
 * @module Binds UDP and TCP on every client address at one port (0 = an ephemeral port, the same for
 * both transports and every address), for the main thread's server and the answer thread alike.
 */
import type dgram from 'node:dgram';
import type net from 'node:net';
import type { QueryHandler } from './cached-reply.ts';
import type { LogThrottle } from './log-throttle.ts';
import type { ResponseRateLimiter } from './rrl.ts';
import { listenUDP } from './udp.ts';
import { listenTCP, closeConnections, type TcpOptions } from './tcp.ts';

export interface Bound { udp: dgram.Socket[]; tcp: net.Server[]; port: number }

/** Binds every host; on failure closes what was bound and throws. */
export async function bindTransports(handler: QueryHandler, hosts: string[], port: number, tcp: TcpOptions, errs: LogThrottle, rrl: () => ResponseRateLimiter | null): Promise<Bound> {
  const out: Bound = { udp: [], tcp: [], port };
  const fixed = port !== 0;
  for (const [i, host] of hosts.entries()) {
    for (let attempt = 0; ; attempt++) {
      const u = await listenUDP(handler, host, out.port, errs, rrl).catch(async e => { await closeTransports(out); throw e; });
      const p = u.address().port;
      try {
        const t = await listenTCP(handler, host, p, tcp, errs);
        out.udp.push(u); out.tcp.push(t);
        if (i === 0) out.port = p;
        break;
      } catch (e) {
        u.close();
        // with an ephemeral port the TCP side may be taken: pick another pair
        if (fixed || i > 0 || attempt >= 20) { await closeTransports(out); throw e; }
      }
    }
  }
  return out;
}

/** Closes the sockets and every open TCP connection. */
export async function closeTransports(b: Bound): Promise<void> {
  const udp = b.udp; const tcp = b.tcp;
  b.udp = []; b.tcp = [];
  await Promise.all([
    ...udp.map(s => new Promise<void>(res => { try { s.close(() => res()); } catch { res(); } })),
    ...tcp.map(s => new Promise<void>(res => { s.close(() => res()); closeConnections(s); })),
  ]);
}
