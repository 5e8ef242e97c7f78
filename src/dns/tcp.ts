/**
 * @module TCP transport (RFC 7766): 2-byte length-prefixed messages, any number pipelined on one
 * connection. Cached answers are written at once, so they come back in order; forwarded ones are
 * written when the upstream answers (matched by ID, as RFC 7766 §6.2.1.1 allows). A zero-length
 * frame closes the connection; reading pauses while the peer is not reading our replies.
 *
 * Deadlines are per message, as in miekg/dns (which Consul runs on), not an idle timer that any
 * byte resets: a message must arrive whole within `readMs` of its first byte (and the first one
 * within `readMs` of the accept), and a connection with no message in progress and no reply owed
 * is closed after `idleMs`. So a client trickling one byte at a time holds a slot for `readMs` at
 * most. Each client address may hold `maxPerClient` connections; at `maxConnections` the longest
 * idle connection is closed to make room (RFC 7766 §6.2.3), else the one whose message has been
 * trickling in longest, else the new one is refused.
 */
import net from 'node:net';
import type { QueryHandler } from './cached-reply.ts';
import type { LogThrottle } from './log-throttle.ts';
import { PerClient } from '../util/per-client.ts';

export interface TcpOptions {
  /** Time a connection may sit with no message in progress. */
  idleMs: number;
  /** Time to receive one whole message, from its first byte (or from the accept). */
  readMs: number;
  maxConnections: number;
  maxPerClient: number;
}

interface Conn {
  sock: net.Socket;
  /** No message in progress. */
  idle: boolean;
  /** When the current state began: the idle period, or the message in progress (performance.now()). */
  since: number;
}

/** A message this long in progress is slower than any real client's: it may be closed to make room. */
const SLOW_MS = 200;

/**
 * Whom to close when every slot is taken: the longest idle connection, else the one whose message
 * has been in progress longest if that is over SLOW_MS (a trickling client; real queries arrive
 * in one segment), else nobody (the new connection is refused).
 */
function victimOf(conns: Set<Conn>, now: number): Conn | undefined {
  let idle: Conn | undefined; let slow: Conn | undefined;
  for (const c of conns) {
    if (c.idle) { if (!idle || c.since < idle.since) idle = c; }
    else if (now - c.since > SLOW_MS && (!slow || c.since < slow.since)) slow = c;
  }
  return idle ?? slow;
}

/** Binds a TCP server on host:port serving `handler`; resolves when listening. */
export function listenTCP(handler: QueryHandler, host: string, port: number, opts: TcpOptions, errs: LogThrottle): Promise<net.Server> {
  const conns = new Set<Conn>();
  const perClient = new PerClient(opts.maxPerClient);
  const srv = net.createServer(sock => {
    const addr = sock.remoteAddress ?? '';
    if (perClient.count(addr) >= opts.maxPerClient) {
      errs.note('warn', 'dns: tcp connection refused: per-client limit reached', { client: addr, limit: opts.maxPerClient });
      sock.destroy(); return;
    }
    if (conns.size >= opts.maxConnections) {
      const victim = victimOf(conns, performance.now());
      if (!victim) {
        errs.note('warn', 'dns: tcp connection refused: connection limit reached', { limit: opts.maxConnections });
        sock.destroy(); return;
      }
      errs.note('warn', 'dns: tcp connection limit reached, closing the oldest idle or slowest connection', { limit: opts.maxConnections });
      victim.sock.destroy();
      conns.delete(victim);
    }
    const c: Conn = { sock, idle: false, since: performance.now() };
    conns.add(c);
    perClient.enter(addr);
    sock.once('close', () => {
      conns.delete(c);
      perClient.leave(addr);
    });
    serveConn(handler, c, opts, errs);
  });
  open.set(srv, conns);
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen({ host, port, ipv6Only: host.includes(':') }, () => {
      srv.off('error', reject);
      srv.on('error', e => errs.note('warn', 'dns: tcp server error', { error: e }));
      resolve(srv);
    });
  });
}

const open = new WeakMap<net.Server, Set<Conn>>();

/** Destroys every open connection of a server (close() alone waits for them). */
export function closeConnections(srv: net.Server): void {
  for (const c of open.get(srv) ?? []) c.sock.destroy();
}

function serveConn(handler: QueryHandler, c: Conn, opts: TcpOptions, errs: LogThrottle): void {
  const sock = c.sock;
  let buf: Buffer = Buffer.alloc(0);
  let closed = false;
  let paused = false;
  let owed = 0; // forwarded queries whose reply has not been written yet
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number): void => { clearTimeout(timer); timer = setTimeout(expire, ms); };
  const expire = (): void => {
    if (closed) return;
    if (c.idle && owed > 0) { arm(opts.idleMs); return; } // still answering: not idle
    sock.destroy();
  };
  arm(opts.readMs);
  sock.setNoDelay(true);
  sock.on('error', () => sock.destroy());
  sock.on('close', () => { closed = true; clearTimeout(timer); });
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
    let done = false;
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (len === 0) { sock.destroy(); return; }
      if (buf.length < 2 + len) break;
      const msg = Buffer.from(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
      done = true;
      let r: Buffer | Buffer[] | null | Promise<Buffer | null>;
      try { r = handler.handleChunks(msg, 'tcp'); } catch (e) { errs.note('error', 'dns: tcp handler failed', { error: e as Error }); continue; }
      if (r === null) continue;
      if (r instanceof Promise) {
        owed++;
        r.then(b => { owed--; if (b) send(b); }, e => { owed--; errs.note('error', 'dns: tcp handler failed', { error: e as Error }); });
      } else send(r);
    }
    // Deadlines move only when a message completes or a new one starts, never on a mere byte.
    if (done || c.idle) {
      if (buf.length === 0) { c.idle = true; arm(opts.idleMs); } else { c.idle = false; arm(opts.readMs); }
      c.since = performance.now();
    }
  });
}
