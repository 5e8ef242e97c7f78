/**
 * @module `?dc=`: the one place that decides whether a request is served here, forwarded to
 * another datacenter, or refused with 500 `No path to datacenter` (Consul's forwardDC), and the
 * forwarding itself.
 *
 * Routes never see a request for another datacenter: the router's interceptor (installed by
 * registerRoutes) forwards every request of a FORWARDED endpoint whose `?dc`/`?datacenter`
 * names a datacenter the WAN pool knows, to one of its live agents over HTTP, best RTT first.
 * A connection refused or not made within CONNECT_MS moves on to the next agent (nothing was sent,
 * so a write is never applied twice) and holds the refusing one down; every attempt shares one
 * deadline (`dc_forward_timeout`, 5 s; a blocking query adds its wait and Consul's wait/16 jitter).
 * An unknown datacenter, or one with no agent left to try, answers `No path to datacenter` at
 * once. The remote agent answers from its own Redis: status, body and `X-Consul-*` headers are its
 * own. A forwarded request carries FORWARDED_HEADER and is never forwarded again (no loops).
 * `?stale` reads without `?index` may be answered from a STALE_CACHE_MS cache.
 */
import http from 'node:http';
import type { DcServer } from '../catalog/datacenters.ts';
import { blockingParams } from './blocking.ts';
import type { ApiDeps } from './context.ts';
import { decideDc, NO_PATH, requestDc } from './dc-rule.ts';
import { HttpError, type Ctx, type Reply } from './server.ts';
import { logger } from '../log.ts';

const log = logger('agent.http.forward');
/** Marks a request already forwarded from another datacenter (its value is that datacenter). */
export const FORWARDED_HEADER = 'x-roster-forwarded-from';
/** A connection to a remote agent not made within this moves on to the next agent. */
export const CONNECT_MS = 1000;
const STALE_CACHE_MS = 1000;
const STALE_CACHE_MAX = 1000;
/** Bigger stale answers are not kept (the cache stays under STALE_CACHE_MAX × this). */
const STALE_CACHE_ENTRY_MAX = 64 * 1024;
const MAX_RESPONSE = 256 * 1024 * 1024;
const MAX_BODY = 8 * 1024 * 1024;
const HOP = new Set(['connection', 'keep-alive', 'host', 'content-length', 'transfer-encoding', 'accept-encoding', 'upgrade', 'te', 'trailer', 'proxy-authorization']);
const KEEP_HEADERS = /^(x-consul-|content-type$|x-cache$|age$|cache-control$)/i;

/** Endpoints that take `?dc` in Consul and are forwarded (prefixes end in `/`). */
export const FORWARDED = [
  '/v1/catalog/', '/v1/health/', '/v1/kv/', '/v1/kv', '/v1/session/', '/v1/txn', '/v1/query', '/v1/query/', '/v1/event/fire/',
  '/v1/coordinate/nodes', '/v1/coordinate/node/', '/v1/status/',
];
const NOT_FORWARDED = new Set(['/v1/catalog/datacenters']);

/** Writes that name their datacenter in the body (`Datacenter`), and are forwarded there as Consul does. */
const BODY_DC = new Set(['/v1/catalog/register', '/v1/catalog/deregister']);

/** The body's `Datacenter` (any case), or null; a body that does not parse is left to the route. */
async function bodyDc(ctx: Ctx): Promise<string | null> {
  let v: unknown;
  try { v = JSON.parse((await ctx.body()).toString('utf8')); } catch { return null; }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  for (const [k, x] of Object.entries(v)) if (k.toLowerCase() === 'datacenter' && typeof x === 'string' && x) return x;
  return null;
}

function forwardedPath(path: string): boolean {
  if (NOT_FORWARDED.has(path)) return false;
  return FORWARDED.some(p => (p.endsWith('/') ? path.startsWith(p) : path === p));
}

/**
 * Connections to one remote agent: the remote counts them all as one client (http_max_conns_per_client, 200, and as
 * many blocking queries), so forwarded blocking queries beyond this wait for a connection within their deadline.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 128, maxFreeSockets: 16 });

/**
 * The router interceptor: a reply for a request of another datacenter, or null to serve it here.
 * A request that names no other datacenter is known local at once (null, no promise): the common
 * case, and a parked blocking query keeps nothing of this.
 */
export function dcForwarder(deps: ApiDeps): (ctx: Ctx) => Promise<Reply | null> | null {
  const stale = new Map<string, { at: number; reply: Reply }>();
  const forward = async (ctx: Ctx, named: string | null): Promise<Reply | null> => {
    const dc = named ?? await bodyDc(ctx);
    if (!dc || dc === deps.config.datacenter) return null;
    const from = ctx.req.headers[FORWARDED_HEADER];
    const d = decideDc(deps, dc, typeof from === 'string' ? from : undefined);
    if (d.kind === 'local') return null;
    if (d.kind === 'no-path') throw new HttpError(500, NO_PATH);
    const blockingQ = ctx.query.has('index');
    let budget = deps.config.dcForwardTimeoutMs;
    if (blockingQ) {
      const { waitMs } = blockingParams(ctx);
      budget += waitMs + waitMs / 16;
      ctx.enterBlocking();
    }
    const cacheable = ctx.method === 'GET' && ctx.has('stale') && !blockingQ;
    const url = ctx.req.url ?? ctx.path;
    const key = `${dc}\n${url}`;
    if (cacheable) {
      const c = stale.get(key);
      if (c && Date.now() - c.at < STALE_CACHE_MS) return c.reply;
    }
    const body = ctx.method === 'GET' || ctx.method === 'HEAD' ? Buffer.alloc(0) : await ctx.body({ max: MAX_BODY, message: () => `Request body too large, max size: ${MAX_BODY} bytes` });
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(ctx.req.headers)) if (v !== undefined && !HOP.has(k)) headers[k] = v;
    const r = await sendTo(deps, d.servers, { method: ctx.method, url, headers, body, signal: ctx.signal }, budget);
    if (cacheable && r.status === 200 && r.body.length <= STALE_CACHE_ENTRY_MAX) {
      if (stale.size >= STALE_CACHE_MAX) stale.delete(stale.keys().next().value!);
      stale.set(key, { at: Date.now(), reply: r });
    }
    return r;
  };
  return ctx => {
    const named = requestDc(ctx.query);
    if (named === deps.config.datacenter || !forwardedPath(ctx.path)) return null;
    if (named === null && !(BODY_DC.has(ctx.path) && ctx.method === 'PUT')) return null;
    return forward(ctx, named);
  };
}

/** A request to send to another datacenter. */
export interface OutRequest { method: string; url: string; headers?: Record<string, string | string[]>; body?: Buffer; signal?: AbortSignal }

/**
 * Sends a request to an agent of `dc` (prepared-query failover, DNS of remote queries): the
 * same server choice, retries and deadline as `?dc=` forwarding. 500 `No path to datacenter`
 * when no agent of it can be reached.
 */
export async function forwardToDc(deps: Pick<ApiDeps, 'config' | 'hooks'>, dc: string, req: OutRequest, budgetMs = deps.config.dcForwardTimeoutMs): Promise<Reply & { body: Buffer; status: number }> {
  const d = decideDc(deps, dc);
  if (d.kind !== 'forward') throw new HttpError(500, NO_PATH);
  return sendTo(deps, d.servers, req, budgetMs);
}

async function sendTo(deps: Pick<ApiDeps, 'config' | 'hooks'>, servers: DcServer[], req: OutRequest, budgetMs: number): Promise<Reply & { body: Buffer; status: number }> {
  const deadline = Date.now() + budgetMs;
  for (const s of servers) {
    if (Date.now() >= deadline) break;
    const r = await exchange(s, req, deadline, deps.config.datacenter);
    if (r === 'connect-failed') { deps.hooks.dcs?.markDown(s.name); continue; }
    return r;
  }
  throw new HttpError(500, NO_PATH);
}

type Answer = Reply & { body: Buffer; status: number };

/** One request to one remote agent: its reply, 'connect-failed' (nothing sent; try another), or a 500 at the deadline. */
function exchange(s: DcServer, out: OutRequest, deadline: number, localDc: string): Promise<Answer | 'connect-failed'> {
  const [host, port] = splitHostPort(s.http);
  const body = out.body ?? Buffer.alloc(0);
  const headers: Record<string, string | string[]> = { ...out.headers };
  headers[FORWARDED_HEADER] = localDc;
  if (body.length) headers['content-length'] = String(body.length);
  const signal = out.signal ?? new AbortController().signal;
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (v: Answer | 'connect-failed' | HttpError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer); clearTimeout(deadlineTimer);
      signal.removeEventListener('abort', onAbort);
      if (v instanceof HttpError) reject(v); else resolve(v);
    };
    const req = http.request({ host, port, method: out.method, path: out.url, headers, agent });
    let connected = false;
    const connectTimer = setTimeout(() => { if (!connected) { req.destroy(); done('connect-failed'); } }, Math.min(CONNECT_MS, Math.max(1, deadline - Date.now())));
    const deadlineTimer = setTimeout(() => {
      req.destroy();
      done(connected ? new HttpError(500, `rpc error: timeout waiting for a response from datacenter ${s.dc} (${s.name})`) : 'connect-failed');
    }, Math.max(1, deadline - Date.now()));
    const onAbort = (): void => { req.destroy(); done(new HttpError(499, 'client closed the request')); };
    signal.addEventListener('abort', onAbort);
    req.on('socket', sock => {
      if (!sock.connecting) connected = true;
      else sock.once('connect', () => { connected = true; });
    });
    req.on('error', err => {
      if (!connected) { done('connect-failed'); return; }
      log.warn('forwarded request failed', { dc: s.dc, server: s.name, err: err.message });
      done(new HttpError(500, `rpc error: datacenter ${s.dc} (${s.name}): ${err.message}`));
    });
    req.on('response', res => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > MAX_RESPONSE) { req.destroy(); done(new HttpError(500, `response from datacenter ${s.dc} too large`)); return; }
        chunks.push(c);
      });
      res.on('end', () => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string' && KEEP_HEADERS.test(k)) h[canonical(k)] = v;
        done({ status: res.statusCode ?? 502, headers: h, body: Buffer.concat(chunks, n), raw: true });
      });
      res.on('error', err => done(new HttpError(500, `rpc error: datacenter ${s.dc} (${s.name}): ${err.message}`)));
    });
    req.end(body);
  });
}

function splitHostPort(hp: string): [string, number] {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(hp) ?? /^([^:]+):(\d+)$/.exec(hp);
  if (!m) throw new HttpError(500, `bad forwarding address ${hp}`);
  return [m[1]!, Number(m[2])];
}

/** `x-consul-index` → `X-Consul-Index`, as Consul's clients expect to see it. */
function canonical(k: string): string {
  return k.split('-').map(w => w.charAt(0).toUpperCase() + w.slice(1)).join('-');
}
