/**
 * @module What one HTTP client may hold, so that it cannot take the agent away from the others:
 * connections per client address (Consul's `limits { http_max_conns_per_client }`, answered as
 * Consul's go-connlimit answers: a raw 429 and close), concurrent blocking queries per client,
 * node's own parser errors answered with a body that says what was wrong, and refusal of
 * cross-site browser writes. Every refusal is logged, at most once per interval per kind.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { logger } from '../log.ts';
import { HttpError } from './errors.ts';
import type { HttpLimits } from '../config/schema.ts';
import { PerClient } from '../util/per-client.ts';

const log = logger('agent.http');

/** go-connlimit's answer to a connection over the per-client limit, byte for byte. */
const TOO_MANY_CONNS_MSG = 'Your IP is issuing too many concurrent connections, please rate limit your calls\n';
export const TOO_MANY_CONNS = `HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: ${TOO_MANY_CONNS_MSG.length}\r\nConnection: close\r\n\r\n${TOO_MANY_CONNS_MSG}`;

/** The key a client is counted under: its IP (IPv4-mapped IPv6 folded to IPv4), as go-connlimit keys by IP. */
export function clientKey(addr: string | undefined): string {
  if (!addr) return '?';
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

const LOG_EVERY_MS = 10_000;
const lastLog = new Map<string, { at: number; suppressed: number }>();

/** Logs a limit being hit at most once per 10 s per kind, with how many were not logged since. */
export function logLimit(kind: string, msg: string, fields: Record<string, unknown>, now = Date.now()): void {
  const l = lastLog.get(kind);
  if (l && now - l.at < LOG_EVERY_MS) { l.suppressed++; return; }
  log.warn(msg, { ...fields, ...(l?.suppressed ? { suppressed: l.suppressed } : {}) });
  lastLog.set(kind, { at: now, suppressed: 0 });
}

export { PerClient } from '../util/per-client.ts';

/**
 * Puts the per-client connection limit in front of node's HTTP connection handling: a connection
 * over the limit gets go-connlimit's 429 and is closed before any of its bytes are parsed.
 * With no limit (0) connections are not counted: nothing is added to each connection.
 */
export function limitConnections(server: Server, max: number): PerClient {
  const conns = new PerClient(max);
  if (max <= 0) return conns;
  const inner = server.listeners('connection') as ((s: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (sock: Socket) => {
    const key = clientKey(sock.remoteAddress);
    if (!conns.enter(key)) {
      sock.on('error', () => {});
      // Consul gives a slow reader 10 ms to take the answer; the socket is gone either way.
      sock.end(TOO_MANY_CONNS);
      setTimeout(() => sock.destroy(), 10).unref();
      logLimit('conns', 'client over the HTTP connection limit: connection refused with 429', { client: key, limit: max });
      return;
    }
    sock.once('close', () => conns.leave(key));
    for (const l of inner) l.call(server, sock);
  });
  return conns;
}

/** Takes a blocking-query slot for a client, or throws 429; the caller gives it back with `slots.leave(key)`. */
export function takeBlockingSlot(slots: PerClient, key: string): void {
  if (!slots.enter(key)) {
    logLimit('blocking', 'client over the blocking-query limit: answered 429', { client: key, limit: slots.max });
    throw new HttpError(429, `Too many concurrent blocking queries from this client (limit ${slots.max}); retry later`);
  }
}

/** Takes a blocking-query slot for a client, or throws 429; call the returned function when the wait ends. */
export function enterBlocking(slots: PerClient, key: string): () => void {
  takeBlockingSlot(slots, key);
  let done = false;
  return () => { if (!done) { done = true; slots.leave(key); } };
}

const PARSER_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large: the request line and headers exceed {max} bytes'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout: the request was not received in time'],
  HPE_HEADERS_TIMEOUT: [408, 'Request Timeout: the request headers were not received in time'],
};

/**
 * Answers node's own parser errors (which node answers with a bare status line) with a body that
 * says what was wrong, then closes the connection.
 */
export function explainClientErrors(server: Server, limits: HttpLimits): void {
  server.on('clientError', (err: Error & { code?: string; reason?: string }, sock: Socket) => {
    // As node's default: answer only when no response has started on this socket, else the peer would read garbage.
    const inFlight = (sock as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !sock.writable || inFlight?.headersSent) { sock.destroy(); return; }
    let [status, text] = PARSER_ERRORS[err.code ?? ''] ?? [400, `Bad Request: ${err.reason ?? err.message}`.replace(/[\r\n]/g, ' ')];
    text = text.replace('{max}', String(limits.maxHeaderBytes)) + '\n';
    const phrase = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
    if (status === 408) logLimit('timeout', 'client too slow to send its request: connection closed', { client: clientKey(sock.remoteAddress), code: err.code });
    sock.end(`HTTP/1.1 ${status} ${phrase}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
    setTimeout(() => sock.destroy(), 1000).unref();
  });
}

/**
 * Refuses a write from a web page of another origin, whatever the legacy-GET setting: a browser
 * says where a request comes from in `Sec-Fetch-Site` (cross-site / same-site), older ones only in
 * `Origin`. Requests without either (curl, API clients) are not browser requests and pass.
 */
export function refuseCrossSiteWrite(headers: Record<string, string | string[] | undefined>): void {
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string' && (site === 'cross-site' || site === 'same-site')) {
    throw new HttpError(403, `Cross-site write refused: this request comes from a web page on another site (Sec-Fetch-Site: ${site})`);
  }
  const origin = headers.origin;
  if (typeof origin !== 'string' || origin === '') return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    host = '';
  }
  if (origin === 'null' || host.toLowerCase() !== String(headers.host ?? '').toLowerCase()) {
    throw new HttpError(403, `Cross-site write refused: this request comes from a web page on another origin (Origin: ${origin})`);
  }
}
