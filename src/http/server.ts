/**
 * @module A small HTTP/1.1 server with Consul's routing rules.
 *
 * Routes are exact paths or prefixes (ending in `/`): the remainder of the percent-decoded path
 * is the route parameter and may contain `/`. A method the route does not list gets 405 with
 * `Allow` (OPTIONS first); OPTIONS gets 200 with `Allow`; an unknown /v1 path gets Consul's 404.
 * Handlers return a Reply; JSON bodies are `application/json`, errors `text/plain`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { pipeline, Readable } from 'node:stream';
import { logger } from '../log.ts';
import { HttpError } from './errors.ts';
import { clientKey, explainClientErrors, limitConnections, logLimit, PerClient, refuseCrossSiteWrite } from './limits.ts';
import { RequestCtx, type Ctx } from './request-ctx.ts';
import { defaultHttpLimits, type HttpLimits } from '../config/schema.ts';
import { metrics, M } from '../util/metrics/index.ts';
import { recordRoute } from './metrics.ts';
import type { Authorizer } from '../acl/authorizer.ts';

const log = logger('agent.http');

export { HttpError };
export { DEFAULT_BODY_LIMIT, parseJson, readBody, type BodyLimit } from './body.ts';
export type { Ctx } from './request-ctx.ts';

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

export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

// --- ACL declarations of routes (enforced by src/http/acl.ts) ---
/** A route's access check: throw (requirePerm / requireScalar of src/http/acl.ts, or any HttpError) to refuse. */
export type AclCheck = (ctx: Ctx, a: Authorizer) => void | Promise<void>;
/** A reply filter: the body without what `a` may not read, and whether anything was removed. */
export type AclFilter = (body: unknown, a: Authorizer, ctx: Ctx) => { body: unknown; removed: boolean; status?: number };

/** What a route declares: checks per method (`*` = any) and an optional reply filter. */
export interface RouteAcl {
  check?: AclCheck | Partial<Record<string, AclCheck>>;
  filter?: AclFilter;
  /** No token resolution at all (bootstrap, token/self handle tokens themselves). */
  public?: boolean;
}

// --- end ACL declarations ---

interface Route {
  methods: string[]; handler: Handler; getWrites: boolean; pattern: string; acl?: RouteAcl;
  /** Consul's `path` label of consul.api.http: `v1_kv_` for `/v1/kv/`. */ label: string;
}

/**
 * Route options. `getWrites`: a GET on this route writes (python-consul's legacy GET forms).
 * `acl`: the route's ACL declaration (src/http/acl.ts), instead of a row in src/http/acl-table.ts.
 */
export interface RouteOpts { getWrites?: boolean; acl?: RouteAcl }

/** Wraps every handler call (the ACL guard, src/http/acl.ts). */
export interface RouteGuard { run(ctx: Ctx, pattern: string, own: RouteAcl | undefined, handler: Handler): Promise<Reply> }

export class Router {
  #exact = new Map<string, Route>();
  #prefix: [string, Route][] = [];
  /** Runs before every route's handler (after the method and cross-site checks): a reply, or null to let the route answer (`?dc=` forwarding). */
  intercept: ((ctx: Ctx) => Promise<Reply | null> | null) | null = null;
  /** Set by the agent when ACLs are enabled. */
  guard?: RouteGuard;

  /** Adds a route; a pattern ending in `/` is a prefix route, except `/` itself (the root page, exact). */
  add(methods: string[], pattern: string, handler: Handler, opts: RouteOpts = {}): this {
    const r: Route = { methods, handler, getWrites: opts.getWrites ?? false, pattern, acl: opts.acl, label: pattern.replace(/^\//, '').replace(/\//g, '_') };
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

/** The HTTPS listener's files (read at start and again on reload). */
export interface TlsServerFiles { certFile: string; keyFile: string; caFile?: string; verifyIncoming: boolean }

/** Reads the certificate, key and CA files (a missing or unreadable file is an error naming the file). */
export function secureContextOptions(tls: TlsServerFiles): { cert: Buffer; key: Buffer; ca?: Buffer } {
  const read = (f: string, what: string) => {
    try { return readFileSync(f); } catch (err) { throw new Error(`cannot read TLS ${what} ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`); }
  };
  return { cert: read(tls.certFile, 'cert_file'), key: read(tls.keyFile, 'key_file'), ...(tls.caFile ? { ca: read(tls.caFile, 'ca_file') } : {}) };
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
    // consul.api.http: every request to a registered endpoint, timed until its answer is sent (or its stream starts).
    // Only the route's own methods: a client cannot mint label values.
    let t0 = -1;
    if (metrics.settings.enabled && (m.route.methods.includes(method) || method === 'OPTIONS')) {
      t0 = performance.now();
      const label = m.route.label;
      res.once('close', () => M.apiHttp.with(method, label).observe(performance.now() - t0));
    }
    // Consul's debug line per request (seen by a debug /v1/agent/monitor even when the agent logs at info).
    if (log.enabled('debug')) {
      const start = performance.now();
      res.once('close', () => log.debug('Request finished', { method, url: redactUrl(req.url ?? ''), from: `${req.socket.remoteAddress}:${req.socket.remotePort}`, latency: `${(performance.now() - start).toFixed(3)}ms` }));
    }
    if (method === 'OPTIONS') { send(res, { status: 200, headers: { Allow: allowOf(m.route) } }, pretty); return DONE; }
    if (!m.route.methods.includes(method)) {
      send(res, { status: 405, headers: { Allow: allowOf(m.route) }, body: `method ${method} not allowed` }, pretty);
      return DONE;
    }
    return respond(new RequestCtx(req, res, method, path, target.query, m.param, slots), res, m.route, router, pretty, t0);
  };
}

/** A request URL for the log: the token query parameter never shows. */
function redactUrl(u: string): string {
  return u.replace(/([?&]token=)[^&]*/gi, '$1<hidden>');
}

const DONE = Promise.resolve();

const allowOf = (r: Route): string => ['OPTIONS', ...r.methods].join(',');

/**
 * Runs the request and sends its reply (or its error): the cross-site check, then `?dc=` forwarding
 * (the datacenter that answers enforces its own ACLs), else the ACL guard and the route. Not async:
 * a parked request holds one promise reaction here, not a suspended frame with its await closures.
 * `t0` ≥ 0: the reply is recorded for metrics (a forwarded one is the other datacenter's).
 */
function respond(ctx: RequestCtx, res: ServerResponse, route: Route, router: Router, pretty: boolean, t0: number): Promise<void> {
  let pre: Promise<Reply | null> | null;
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
    pre = router.intercept ? router.intercept(ctx) : null;
  } catch (err) {
    fail(ctx, res, err, pretty);
    return DONE;
  }
  if (!pre) return answerHere(ctx, res, route, router, pretty, t0);
  return pre.then(p => (p ? finish(ctx, res, p, pretty, route, -1) : answerHere(ctx, res, route, router, pretty, t0)), err => fail(ctx, res, err, pretty));
}

/** The route's own answer, through the ACL guard when ACLs are on. */
function answerHere(ctx: RequestCtx, res: ServerResponse, route: Route, router: Router, pretty: boolean, t0: number): Promise<void> {
  let r: Reply | Promise<Reply>;
  try {
    r = router.guard ? router.guard.run(ctx, route.pattern, route.acl, route.handler) : route.handler(ctx);
  } catch (err) {
    fail(ctx, res, err, pretty);
    return DONE;
  }
  if (!(r instanceof Promise)) {
    finish(ctx, res, r, pretty, route, t0);
    return DONE;
  }
  return r.then(reply => finish(ctx, res, reply, pretty, route, t0), err => fail(ctx, res, err, pretty));
}

function finish(ctx: RequestCtx, res: ServerResponse, reply: Reply, pretty: boolean, route: Route, t0: number): void {
  try {
    if (t0 >= 0) recordRoute(ctx.method, route.label, ctx.param, reply.status ?? 200, reply.body, performance.now() - t0);
    send(res, reply, pretty);
  } catch (err) {
    fail(ctx, res, err, pretty);
  }
}

/** Answers a handler's error: an HttpError as it says (with the headers it carries), anything else as a 500. */
function fail(ctx: RequestCtx, res: ServerResponse, err: unknown, pretty: boolean): void {
  if (err instanceof HttpError) {
    if (err.close) lingerThenClose(ctx.req.socket as Socket);
    send(res, { status: err.status, body: err.message, headers: err.close ? { ...err.headers, Connection: 'close' } : err.headers }, pretty);
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

function send(res: ServerResponse, r: Reply, pretty: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { ...r.headers };
  if (r.body instanceof Readable) {
    headers['Content-Type'] ??= 'application/octet-stream';
    res.writeHead(r.status ?? 200, headers);
    // Status and headers go out at once, before the first chunk (a log stream may be quiet for long).
    res.flushHeaders();
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
export async function listenHttp(router: Router, host: string, port: number, limits: HttpLimits = defaultHttpLimits(), maxConns = 0, tls?: TlsServerFiles): Promise<Server> {
  const blocking = new PerClient(limits.maxBlockingPerClient);
  // Deadlines are checked every second (node's default is every 30 s, which would let a 10 s deadline run to 40 s).
  const opts = {
    keepAliveTimeout: 65_000, requestTimeout: limits.requestTimeoutMs, headersTimeout: limits.headerTimeoutMs, maxHeaderSize: limits.maxHeaderBytes,
    connectionsCheckingInterval: 1000,
  };
  // HTTPS: the same handler and limits; with verifyIncoming the TLS handshake itself refuses a client
  // without a certificate signed by the CA (Consul's verify_incoming).
  const server: Server = tls
    ? createHttpsServer({ ...opts, ...secureContextOptions(tls), requestCert: tls.verifyIncoming, rejectUnauthorized: tls.verifyIncoming }, makeHandler(router, { blocking })) as unknown as Server
    : createServer(opts, makeHandler(router, { blocking }));
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
