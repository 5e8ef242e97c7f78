/**
 * @module UDP transport: one dgram socket per listen address; replies go back to the sender.
 * The receive buffer is raised to 4 MiB (bursts, not average load, cause loss) and sends skip
 * dgram's async address lookup. Every reply passes the response-rate limiter when one is on (rrl.ts).
 */
import dgram from 'node:dgram';
import type { QueryHandler } from './cached-reply.ts';
import type { LogThrottle } from './log-throttle.ts';
import { slipReply } from './rrl.ts';
import type { ResponseRateLimiter } from './rrl.ts';

/** Binds a UDP socket on host:port (0 = ephemeral) serving `handler`; resolves when bound. */
export function listenUDP(handler: QueryHandler, host: string, port: number, errs: LogThrottle, rrl: () => ResponseRateLimiter | null): Promise<dgram.Socket> {
  const v6 = host.includes(':');
  const family = v6 ? 6 : 4;
  const sock = dgram.createSocket({
    type: v6 ? 'udp6' : 'udp4',
    ipv6Only: v6,
    lookup: ((addr: string, _opts: unknown, cb: (e: Error | null, a: string, f: number) => void) => cb(null, addr, family)) as never,
  });
  const out = (b: Buffer, port: number, addr: string): void => {
    const lim = rrl();
    if (lim) {
      const v = lim.check(addr, b);
      if (v !== 'send') {
        errs.note('warn', 'dns: responses rate-limited', { client: addr });
        if (v === 'drop') return;
        b = slipReply(b);
      }
    }
    sock.send(b, port, addr); // no callback: send errors surface as 'error' events
  };
  sock.on('message', (msg, rinfo) => {
    let r: Buffer | null | Promise<Buffer | null>;
    try { r = handler.handle(msg, 'udp'); } catch (e) { errs.note('error', 'dns: udp handler failed', { error: e as Error }); return; }
    if (r === null) return;
    if (r instanceof Promise) {
      r.then(b => { if (b) out(b, rinfo.port, rinfo.address); }, e => errs.note('error', 'dns: udp handler failed', { error: e as Error }));
      return;
    }
    out(r, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    const onErr = (e: Error): void => { sock.close(); reject(e); };
    sock.once('error', onErr);
    sock.bind(port, host, () => {
      sock.off('error', onErr);
      sock.on('error', e => errs.note('warn', 'dns: udp socket error', { error: e }));
      try { sock.setRecvBufferSize(4 << 20); sock.setSendBufferSize(4 << 20); } catch { /* best effort (rmem_max) */ }
      resolve(sock);
    });
  });
}
