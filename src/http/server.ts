/**
 * @module A small HTTP/1.1 server with Consul's routing rules.
 *
 * Routes are exact paths or prefixes (ending in `/`): the remainder of the percent-decoded path
 * is the route parameter and may contain `/`. A method the route does not list gets 405 with
 * `Allow` (OPTIONS first); OPTIONS gets 200 with `Allow`; an unknown /v1 path gets Consul's 404.
 * Handlers return a Reply; JSON bodies are `application/json`, errors `text/plain`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline, Readable } from 'node:stream';
import { logger } from '../log.ts';
import { clientKey, explainClientErrors, limitConnections, logLimit, PerClient, refuseCrossSiteWrite } from './limits.ts';
import { RequestCtx } from './request-ctx.ts';
import { defaultHttpLimits, type HttpLimits } from '../config/schema.ts';

const log = logger('agent.http');

/** An error that becomes an HTTP reply with a plain-text body. */
export class HttpError extends Error {
  readonly status: number;
  /** Close the connection after the answer (a request body was left unread). */
  readonly close: boolean;
  constructor(status: number, message: string, close = false) {
    super(message);
    this.status = status;
    this.close = close;
  }
}

/** How big a request body may be, and how a bigger one is refused (413, nothing read past the limit). */
export interface BodyLimit {
  max: number;
  /** Consul's message for a body of `n` bytes (as many as were read when the length was not announced). */
  message(n: number): string;
}

/** Every request body but KV values and transactions: Consul's txn wording. */
export const DEFAULT_BODY_LIMIT: BodyLimit = { max: 512 * 1024, message: () => `Request body too large, max size: ${512 * 1024} bytes` };

export interface Reply {
  status?: number;
  /**
   * A value is sent as JSON; a string or Buffer as-is (text/plain unless headers say otherwise); a
   * Readable is streamed with backpressure (the connection is cut if it fails midway); undefined = empty body.
   */
  body?: unknown;
  headers?: Record<string, string>;
  /** Send `body` as raw text/bytes even when it is a string that looks like JSON. */
  raw?: boolean;
}

export interface Ctx {
  req: IncomingMessage;
  method: string;
  /** The decoded path. */
  path: string;
  query: URLSearchParams;
  /** The remainder of the path after a prefix route, percent-decoded. */
  param: string;
  /** Reads the whole request body; a body over the limit (default DEFAULT_BODY_LIMIT) is refused with 413, unread. */
  body(limit?: BodyLimit): Promise<Buffer>;
  /**
   * Parses the body as JSON (empty body → undefined); 400 on bad JSON as Consul words it, on
   * nesting deeper than Go's 10,000 and on strings with lone UTF-16 surrogates.
   */
  json(limit?: BodyLimit): Promise<unknown>;
  /**
   * Takes one of the client's blocking-query slots, held until the answer is sent or the client goes
   * away (429 past the per-client limit). Call where a blocking wait starts; calling again is a no-op.
   */
  enterBlocking(): void;
  /** True when the query has the key (Consul's presence flags: ?recurse, ?stale, ...). */
  has(name: string): boolean;
  /** Aborted when the client goes away (for blocking queries). */
  signal: AbortSignal;
  /**
   * A cheaper `signal` for a parked query: `l.handleEvent()` is called once if the client goes away
   * before the answer is complete, until replaced (null stops watching). Returns true, and watches
   * nothing, when the client is already gone. Optional: without it, `signal` is watched.
   */
  watchGone?(l: { handleEvent(): void } | null): boolean;
}

export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

interface Route { methods: string[]; handler: Handler; getWrites: boolean }

/** Route options. `getWrites`: a GET on this route writes (python-consul's legacy GET forms). */
export interface RouteOpts { getWrites?: boolean }

export class Router {
  #exact = new Map<string, Route>();
  #prefix: [string, Route][] = [];

  /** Adds a route; a pattern ending in `/` is a prefix route, except `/` itself (the root page, exact). */
  add(methods: string[], pattern: string, handler: Handler, opts: RouteOpts = {}): this {
    const r = { methods, handler, getWrites: opts.getWrites ?? false };
    if (pattern.endsWith('/') && pattern !== '/') {
      this.#prefix.push([pattern, r]);
      this.#prefix.sort((a, b) => b[0].length - a[0].length);
    } else this.#exact.set(pattern, r);
    return this;
  }

  /** Finds the route for a path; `param` is the remainder after a prefix route. */
  match(path: string): { route: Route; param: string } | null {
    const e = this.#exact.get(path);
    if (e) return { route: e, param: '' };
    for (const [p, r] of this.#prefix) if (path.startsWith(p)) return { route: r, param: path.slice(p.length) };
    // `/v1/kv` without the slash is still the KV endpoint with an empty key.
    for (const [p, r] of this.#prefix) if (path === p.slice(0, -1)) return { route: r, param: '' };
    return null;
  }
}

/** Serialises a value as Consul does: compact JSON, or 4-space indented + newline with ?pretty. */
export function toJson(v: unknown, pretty: boolean): string {
  return pretty ? JSON.stringify(v, null, 4) + '\n' : JSON.stringify(v);
}

/** What the handler needs besides the routes: the per-client blocking-query slots. */
export interface HandlerOpts { blocking?: PerClient }

export function makeHandler(router: Router, opts: HandlerOpts = {}) {
  const slots = opts.blocking ?? new PerClient(0);
  // Not async itself: only `respond`'s small frame stays suspended while a blocking query is parked.
  return (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = parseTarget(req.url ?? '/');
    if (!target) {
      send(res, { status: 400, body: 'Bad request URL' }, false);
      return DONE;
    }
    let path: string;
    try {
      path = decodeURIComponent(target.pathname);
    } catch {
      path = target.pathname;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const pretty = target.query.has('pretty');
    const m = router.match(path);
    if (!m) {
      const body = path.startsWith('/v1/') ? 'Invalid URL path: not a recognized HTTP API endpoint\n' : '404 page not found\n';
      send(res, { status: 404, body }, pretty);
      return DONE;
    }
    if (method === 'OPTIONS') { send(res, { status: 200, headers: { Allow: allowOf(m.route) } }, pretty); return DONE; }
    if (!m.route.methods.includes(method)) {
      send(res, { status: 405, headers: { Allow: allowOf(m.route) }, body: `method ${method} not allowed` }, pretty);
      return DONE;
    }
    return respond(new RequestCtx(req, res, method, path, target.query, m.param, slots), res, m.route, pretty);
  };
}

const DONE = Promise.resolve();

const allowOf = (r: Route): string => ['OPTIONS', ...r.methods].join(',');

/**
 * Runs the handler and sends its reply (or its error). Not async: a parked request holds one
 * promise reaction here, not a suspended frame with its await closures.
 */
function respond(ctx: RequestCtx, res: ServerResponse, route: Route, pretty: boolean): Promise<void> {
  let r: Reply | Promise<Reply>;
  try {
    // A browser page of another site must never write, whatever the legacy-GET setting.
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || route.getWrites) {
      try {
        refuseCrossSiteWrite(ctx.req.headers);
      } catch (err) {
        logLimit('cross-site', 'cross-site write refused', { client: ctx.client, method: ctx.method, path: ctx.path });
        throw err;
      }
    }
    r = route.handler(ctx);
  } catch (err) {
    fail(ctx, res, err, pretty);
    return DONE;
  }
  if (!(r instanceof Promise)) {
    finish(ctx, res, r, pretty);
    return DONE;
  }
  return r.then(reply => finish(ctx, res, reply, pretty), err => fail(ctx, res, err, pretty));
}

function finish(ctx: RequestCtx, res: ServerResponse, reply: Reply, pretty: boolean): void {
  try {
    send(res, reply, pretty);
  } catch (err) {
    fail(ctx, res, err, pretty);
  }
}

/** Answers a handler's error: an HttpError as it says, anything else as a 500. */
function fail(ctx: RequestCtx, res: ServerResponse, err: unknown, pretty: boolean): void {
  if (err instanceof HttpError) {
    if (err.close) lingerThenClose(ctx.req.socket as Socket);
    send(res, { status: err.status, body: err.message, headers: err.close ? { Connection: 'close' } : undefined }, pretty);
  } else {
    log.error('request failed', { method: ctx.method, path: ctx.path, err: (err as Error).message });
    send(res, { status: 500, body: publicMessage(err as Error) }, pretty);
  }
}

/**
 * A request target's path (still percent-encoded) and query, as WHATWG URL parsing against
 * http://localhost gives them. The common shape (origin-form, plain characters, no dot segments)
 * is split by hand, without a URL object; anything else goes through URL. Null when URL refuses it.
 */
export function parseTarget(raw: string): { pathname: string; query: URLSearchParams } | null {
  if (PLAIN_TARGET.test(raw)) {
    const q = raw.indexOf('?');
    const pathname = q < 0 ? raw : raw.slice(0, q);
    if (!DOT_SEGMENT.test(pathname)) return { pathname, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
  }
  try {
    const url = new URL(raw, 'http://localhost');
    return { pathname: url.pathname, query: url.searchParams };
  } catch {
    return null;
  }
}

/** An origin-form target URL parsing leaves as it is: `/` not followed by `/`, then only characters it never encodes or rewrites. */
const PLAIN_TARGET = /^\/(?!\/)[\w\-.~!$&'()*+,;=:@/%?]*$/;
/** A segment URL parsing would resolve or drop (`.`, `..`, `%2e`...): left to URL. */
const DOT_SEGMENT = /\/(?:\.|%2e)/i;

/**
 * Closes a connection whose request body was left unread the way Go's net/http does: half-close
 * after the answer, keep discarding what the client still sends for 500 ms, then close. Closing
 * at once would reset the connection, and a client still sending would lose the 413.
 */
function lingerThenClose(sock: Socket): void {
  sock.destroySoon = function (this: Socket) {
    this.end();
    setTimeout(() => this.destroy(), 500).unref();
  };
}

/** An unexpected error as a client may see it: no stack overflow text, no Lua script names or line numbers. */
export function publicMessage(err: Error): string {
  if (err.message === 'Command timed out') return 'catalog store unavailable: Redis did not answer within redis_timeout (frozen, partitioned or failing over); DNS keeps answering from the last view, retry shortly';
  if (err instanceof RangeError && /call stack/.test(err.message)) return 'Internal error: request too deeply nested';
  const lua = /^ERR (?:user_script:\d+: )?(.*?)(?: script: [0-9a-f]{40}, on @user_script:\d+\.)?$/s.exec(err.message);
  if (lua && /user_script/.test(err.message)) return `catalog store rejected the request: ${lua[1]}`;
  return err.message;
}

/** Go's encoding/json nesting limit. */
const MAX_JSON_DEPTH = 10_000;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * JSON.parse, refusing what Roster cannot store faithfully: nesting deeper than Go's limit, and
 * strings (keys included) with a lone UTF-16 surrogate, which have no UTF-8 form.
 */
export function parseJson(b: Buffer): unknown {
  if (b.length === 0) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(b.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `Request decode failed: ${(err as Error).message}`);
  }
  // Iterative walk: the depth check must not itself overflow the stack.
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (typeof x === 'string') {
      if (LONE_SURROGATE.test(x)) throw new HttpError(400, `Request decode failed: invalid string ${JSON.stringify(x.length > 64 ? x.slice(0, 64) + '...' : x)}: lone UTF-16 surrogate (not valid Unicode)`);
      continue;
    }
    if (typeof x !== 'object' || x === null) continue;
    if (d > MAX_JSON_DEPTH) throw new HttpError(400, 'Request decode failed: exceeded max depth');
    if (Array.isArray(x)) for (const e of x) stack.push([e, d + 1]);
    else for (const [k, e] of Object.entries(x)) { stack.push([k, d]); stack.push([e, d + 1]); }
  }
  return v;
}

/**
 * Reads a request body whole, or refuses it with 413 as soon as it is known to be over the limit:
 * at once from Content-Length, else when the bytes read pass the limit. Nothing past the limit is
 * kept, and the connection is closed after the answer (the rest of the body is never read).
 */
export function readBody(req: IncomingMessage, limit: BodyLimit): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const announced = Number(req.headers['content-length'] ?? NaN);
    const refuse = (n: number) => {
      req.removeAllListeners('data');
      req.pause();
      logLimit('body', 'request body over the limit: answered 413', { client: clientKey(req.socket.remoteAddress), path: req.url?.slice(0, 100), bytes: n, limit: limit.max });
      reject(new HttpError(413, limit.message(n), true));
    };
    if (announced > limit.max) { refuse(announced); return; }
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit.max) { refuse(n); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, n)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, r: Reply, pretty: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { ...r.headers };
  if (r.body instanceof Readable) {
    headers['Content-Type'] ??= 'application/octet-stream';
    res.writeHead(r.status ?? 200, headers);
    pipeline(r.body, res, err => { if (err) res.destroy(); });
    return;
  }
  let payload: string | Buffer = '';
  if (r.body === undefined) payload = '';
  else if (Buffer.isBuffer(r.body)) payload = r.body;
  else if (typeof r.body === 'string' && (r.raw || (r.status ?? 200) >= 400)) payload = r.body;
  else {
    payload = toJson(r.body, pretty);
    headers['Content-Type'] ??= 'application/json';
  }
  if (payload.length > 0 || (r.status ?? 200) >= 400) headers['Content-Type'] ??= 'text/plain; charset=utf-8';
  headers['Vary'] ??= 'Accept-Encoding';
  res.writeHead(r.status ?? 200, headers);
  res.end(payload);
}

/**
 * Starts an HTTP server for a router, with the per-client limits, deadlines and error bodies of
 * src/http/limits.ts. `maxConns` (0 = none) caps all clients together: past it, node closes new
 * connections at once, so that clients cannot take the descriptors the agent needs for itself.
 */
export async function listenHttp(router: Router, host: string, port: number, limits: HttpLimits = defaultHttpLimits(), maxConns = 0): Promise<Server> {
  const blocking = new PerClient(limits.maxBlockingPerClient);
  // Deadlines are checked every second (node's default is every 30 s, which would let a 10 s deadline run to 40 s).
  const server = createServer({
    keepAliveTimeout: 65_000, requestTimeout: limits.requestTimeoutMs, headersTimeout: limits.headerTimeoutMs, maxHeaderSize: limits.maxHeaderBytes,
    connectionsCheckingInterval: 1000,
  }, makeHandler(router, { blocking }));
  limitConnections(server, limits.maxConnsPerClient);
  if (maxConns > 0) {
    server.maxConnections = maxConns;
    server.on('drop', (d?: { remoteAddress?: string }) => logLimit('total-conns', 'HTTP connections at the agent\'s limit (open files less a reserve): new connection closed', { client: clientKey(d?.remoteAddress), limit: maxConns }));
  }
  explainClientErrors(server, limits);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return server;
}
