/**
 * @module TCP transport (RFC 7766): 2-byte length-prefixed messages, any number pipelined on one
 * connection. Cached answers are written at once, so they come back in order; forwarded ones are
 * written when the upstream answers (matched by ID, as RFC 7766 §6.2.1.1 allows). A connection
 * idle for `idleMs` is closed; a zero-length frame closes it; reading pauses while the peer is
 * not reading our replies.
 */
import net from 'node:net';
import type { DnsHandler } from './handler.ts';
import type { Logger } from '../log.ts';

export interface TcpOptions { idleMs: number; maxConnections: number }

/** Binds a TCP server on host:port serving `handler`; resolves when listening. */
export function listenTCP(handler: DnsHandler, host: string, port: number, opts: TcpOptions, log?: Logger): Promise<net.Server> {
  const conns = new Set<net.Socket>();
  const srv = net.createServer(sock => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    serveConn(handler, sock, opts, log);
  });
  open.set(srv, conns);
  srv.maxConnections = opts.maxConnections;
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen({ host, port, ipv6Only: host.includes(':') }, () => {
      srv.off('error', reject);
      srv.on('error', e => log?.warn('dns: tcp server error', { error: e }));
      resolve(srv);
    });
  });
}

const open = new WeakMap<net.Server, Set<net.Socket>>();

/** Destroys every open connection of a server (close() alone waits for them). */
export function closeConnections(srv: net.Server): void {
  for (const s of open.get(srv) ?? []) s.destroy();
}

function serveConn(handler: DnsHandler, sock: net.Socket, opts: TcpOptions, log?: Logger): void {
  let buf: Buffer = Buffer.alloc(0);
  let closed = false;
  let paused = false;
  sock.setNoDelay(true);
  sock.setTimeout(opts.idleMs, () => sock.destroy());
  sock.on('error', () => sock.destroy());
  sock.on('close', () => { closed = true; });
  const send = (b: Buffer | Buffer[]): void => {
    const parts = Array.isArray(b) ? b : [b];
    let len = 0;
    for (const x of parts) len += x.length;
    if (closed || len > 0xffff) return;
    const hdr = Buffer.allocUnsafe(2);
    hdr.writeUInt16BE(len, 0);
    sock.cork(); sock.write(hdr); // the parts are written as they are: a large cached reply is not copied
    let ok = true;
    for (const x of parts) ok = sock.write(x);
    sock.uncork();
    if (!ok && !paused) { paused = true; sock.pause(); sock.once('drain', () => { paused = false; sock.resume(); }); }
  };
  sock.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (len === 0) { sock.destroy(); return; }
      if (buf.length < 2 + len) break;
      const msg = Buffer.from(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
      let r: Buffer | Buffer[] | null | Promise<Buffer | null>;
      try { r = handler.handleChunks(msg, 'tcp'); } catch (e) { log?.error('dns: tcp handler failed', { error: e as Error }); continue; }
      if (r === null) continue;
      if (r instanceof Promise) r.then(b => { if (b) send(b); }, e => log?.error('dns: tcp handler failed', { error: e as Error }));
      else send(r);
    }
  });
}
