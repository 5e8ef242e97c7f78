/**
 * @module A small HTTP/1.1 server with Consul's routing rules.
 *
 * Routes are exact paths or prefixes (ending in `/`): the remainder of the percent-decoded path
 * is the route parameter and may contain `/`. A method the route does not list gets 405 with
 * `Allow` (OPTIONS first); OPTIONS gets 200 with `Allow`; an unknown /v1 path gets Consul's 404.
 * Handlers return a Reply; JSON bodies are `application/json`, errors `text/plain`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { logger } from '../log.ts';

const log = logger('agent.http');

/** An error that becomes an HTTP reply with a plain-text body. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface Reply {
  status?: number;
  /** A value is sent as JSON; a string or Buffer as-is (text/plain unless headers say otherwise); undefined = empty body. */
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
  /** Reads the request body (max 512 KiB + 1 byte, so callers can enforce limits). */
  body(): Promise<Buffer>;
  /** Parses the body as JSON (empty body → undefined); 400 on bad JSON as Consul words it. */
  json(): Promise<unknown>;
  /** True when the query has the key (Consul's presence flags: ?recurse, ?stale, ...). */
  has(name: string): boolean;
  /** Aborted when the client goes away (for blocking queries). */
  signal: AbortSignal;
}

export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

interface Route { methods: string[]; handler: Handler }

export const MAX_BODY = 512 * 1024;

export class Router {
  #exact = new Map<string, Route>();
  #prefix: [string, Route][] = [];

  /** Adds a route; a pattern ending in `/` is a prefix route. */
  add(methods: string[], pattern: string, handler: Handler): this {
    const r = { methods, handler };
    if (pattern.endsWith('/')) {
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

export function makeHandler(router: Router) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const ac = new AbortController();
    // Only a client that goes away before the answer is complete aborts (blocking queries park on this signal).
    res.on('close', () => { if (!res.writableFinished) ac.abort(); });
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      send(res, { status: 400, body: 'Bad request URL' }, false);
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      path = url.pathname;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const pretty = url.searchParams.has('pretty');
    const m = router.match(path);
    if (!m) {
      const body = path.startsWith('/v1/') ? 'Invalid URL path: not a recognized HTTP API endpoint\n' : '404 page not found\n';
      send(res, { status: 404, body }, pretty);
      return;
    }
    const allow = ['OPTIONS', ...m.route.methods].join(',');
    if (method === 'OPTIONS') { send(res, { status: 200, headers: { Allow: allow } }, pretty); return; }
    if (!m.route.methods.includes(method)) {
      send(res, { status: 405, headers: { Allow: allow }, body: `method ${method} not allowed` }, pretty);
      return;
    }
    let bodyP: Promise<Buffer> | null = null;
    const ctx: Ctx = {
      req, method, path, query: url.searchParams, param: m.param, signal: ac.signal,
      has: (n: string) => url.searchParams.has(n),
      body: () => (bodyP ??= readBody(req)),
      json: async () => {
        const b = await ctx.body();
        if (b.length === 0) return undefined;
        try {
          return JSON.parse(b.toString('utf8'));
        } catch (err) {
          throw new HttpError(400, `Request decode failed: ${(err as Error).message}`);
        }
      },
    };
    try {
      send(res, await m.route.handler(ctx), pretty);
    } catch (err) {
      if (err instanceof HttpError) send(res, { status: err.status, body: err.message }, pretty);
      else {
        log.error('request failed', { method, path, err: (err as Error).message });
        send(res, { status: 500, body: (err as Error).message }, pretty);
      }
    }
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n <= MAX_BODY + 1) chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, r: Reply, pretty: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { ...r.headers };
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

/** Starts an HTTP server for a router. */
export async function listenHttp(router: Router, host: string, port: number): Promise<Server> {
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, makeHandler(router));
  server.headersTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return server;
}
