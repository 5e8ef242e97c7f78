/**
 * @module The router: an HTTP/1.1 reverse proxy that sends each request to a healthy instance of the
 * service its Host or path names (keep-alive upstream pool), retries connection failures on another
 * instance with passive ejection, answers 503 at once when there is no such service or no healthy
 * instance, passes streaming bodies and WebSocket upgrades through, and writes one JSON access-log
 * line per request. Stateless: any number of routers can run side by side.
 */
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { Agent as Upstreams, type Dispatcher } from 'undici';
import { AgentApi } from '../client/api.ts';
import type { Discovery } from '../client/discovery.ts';
import type { Instance, StrategyName } from '../client/types.ts';
import { compileRouteOptions, parseRoute, type CompiledRouteOptions, type Route } from './route.ts';
import { ServiceSet } from './services.ts';
import { AccessLog } from './access-log.ts';
import { agentAddr, agentToken } from '../util/agent-addr.ts';
import { countRequest, countUpstreamError } from './metrics.ts';

export interface RouterOptions {
  httpAddr?: string;
  token?: string;
  dnsAddr?: string;
  domain?: string;
  suffixes?: string[];
  pathRouting?: boolean;
  strategy?: StrategyName;
  /** Extra attempts on other instances after a connection failure. @defaultValue 2 */
  retries?: number;
  /** @defaultValue 1000 ms */ connectTimeoutMs?: number;
  /** No response headers within this → 504. @defaultValue 60 s */ upstreamTimeoutMs?: number;
  /** Where access-log lines go; null = off. @defaultValue process.stdout */
  accessLog?: NodeJS.WritableStream | null;
  ejectBaseMs?: number;
  ejectMaxMs?: number;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded; `expect` is answered by this server
// (Node sends 100 Continue). `host` is forwarded as the client sent it.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'expect']);

/** What the proxy needs from a request's headers, read in one pass over the raw list. */
interface Scanned {
  host: string | undefined;
  /** The upstream request headers as a flat [name, value, ...] list, names as the client spelled them. */
  headers: string[];
  body: boolean;
}

function scanHeaders(req: IncomingMessage): Scanned {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let host: string | undefined;
  let xff: string | undefined;
  let xfHost = false;
  let xfProto = false;
  let body = false;
  let extra: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const k = name.toLowerCase();
    const v = raw[i + 1]!;
    switch (k) {
      case 'host': if (host === undefined) host = v; break;
      case 'x-forwarded-for': xff = xff === undefined ? v : `${xff}, ${v}`; continue;
      case 'x-forwarded-host': xfHost = true; break;
      case 'x-forwarded-proto': xfProto = true; break;
      case 'content-length': if (v !== '0') body = true; break;
      case 'transfer-encoding': body = true; continue;
      case 'connection': {
        const c = v.toLowerCase();
        if (c !== 'keep-alive' && c !== 'close') for (const t of c.split(',')) (extra ??= new Set()).add(t.trim());
        continue;
      }
    }
    if (!HOP.has(k)) out.push(name, v);
  }
  if (extra) for (let i = out.length - 2; i >= 0; i -= 2) if (extra.has(out[i]!.toLowerCase())) out.splice(i, 2);
  const ip = req.socket.remoteAddress ?? '';
  out.push('x-forwarded-for', xff === undefined ? ip : `${xff}, ${ip}`);
  if (!xfHost && host !== undefined) out.push('x-forwarded-host', host);
  if (!xfProto) out.push('x-forwarded-proto', 'http');
  return { host, headers: out, body };
}

/** Upstream response headers (undici hands over raw name/value buffers) minus hop-by-hop ones. */
function responseHeaders(raw: Buffer[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toString('latin1');
    const l = k.length;
    // connection (10), keep-alive (10), proxy-connection (16), transfer-encoding (17)
    if ((l === 10 || l === 16 || l === 17) && /^(connection|keep-alive|proxy-connection|transfer-encoding)$/i.test(k)) continue;
    out.push(k, raw[i + 1]!.toString('latin1'));
  }
  return out;
}

/** The request body as an iterable that touches the client stream only when the upstream starts
 *  reading it, so a connection failure before that can still be retried on another instance. */
function lazyBody(req: IncomingMessage, started: () => void): Readable {
  return Readable.from((async function* () { started(); for await (const chunk of req) yield chunk as Buffer; })(), { objectMode: false });
}

const origins = new WeakMap<Instance, string>();
function originOf(inst: Instance): string {
  let o = origins.get(inst);
  if (o === undefined) origins.set(inst, o = `http://${inst.address.includes(':') ? `[${inst.address}]` : inst.address}:${inst.port}`);
  return o;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export class ServiceRouter {
  readonly options: RouterOptions;
  readonly services: ServiceSet;
  readonly server: Server;
  /** Keep-alive connection pools, one per upstream address (undici: markedly cheaper per request than node:http's client). */
  #upstreams: Upstreams;
  #route: CompiledRouteOptions;
  #log: AccessLog | null;

  constructor(o: RouterOptions = {}) {
    this.options = o;
    this.#route = compileRouteOptions(o);
    const upstreamTimeout = o.upstreamTimeoutMs ?? 60_000;
    this.#upstreams = new Upstreams({
      connections: null, pipelining: 1, keepAliveTimeout: 30_000,
      connect: { timeout: o.connectTimeoutMs ?? 1000, noDelay: true },
      headersTimeout: upstreamTimeout, bodyTimeout: upstreamTimeout,
    });
    this.services = new ServiceSet({
      api: new AgentApi(agentAddr(o.httpAddr), agentToken(o.token)),
      dnsAddr: o.dnsAddr, domain: o.domain,
      discover: { strategy: o.strategy ?? 'round-robin', ejectBaseMs: o.ejectBaseMs, ejectMaxMs: o.ejectMaxMs, passingOnly: true },
    });
    this.#log = o.accessLog === null ? null : new AccessLog(o.accessLog ?? process.stdout);
    this.server = createServer({ requestTimeout: 0, keepAliveTimeout: 65_000 }, (req, res) => { this.#handle(req, res); });
    this.server.on('upgrade', (req, socket, head) => { this.#upgrade(req, socket, head); });
    this.server.on('clientError', (_err, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'); else socket.destroy(); });
  }

  listen(port: number, host = '127.0.0.1'): Promise<{ port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve({ port: (this.server.address() as { port: number }).port }));
    });
  }

  async close(): Promise<void> {
    await this.services.close();
    this.server.closeAllConnections?.();
    await new Promise<void>(r => this.server.close(() => r()));
    await this.#upstreams.destroy();
    this.#log?.flush();
  }

  /** The Discovery for a route, waiting (bounded) for the first lists; a string = the 503 reason. */
  async #discovery(route: Route): Promise<Discovery | string> {
    if (!this.services.loaded) await this.services.ready(2000);
    const d = this.services.get(route.service, route.tag);
    if (!d) return this.services.known(route.service) ? `no instances of service "${route.service}" with tag "${route.tag}"` : `unknown service "${route.service}"`;
    if (!d.loaded) await d.ready(2000);
    return d;
  }

  #reply(x: { req: IncomingMessage; res: ServerResponse; host: string | undefined; t0: number }, status: number, msg: string, route: Route | null): void {
    x.res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(msg) + 1 });
    x.res.end(msg + '\n');
    this.#log?.write(x.req.method, x.host, x.req.url, route, '', status, x.t0, 0);
    countRequest(route, status);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const t0 = performance.now();
    const scanned = scanHeaders(req);
    const route = parseRoute(scanned.host, req.url ?? '/', this.#route);
    if (!route) return this.#reply({ req, res, host: scanned.host, t0 }, 404, `no route: name a service in the Host header ([tag.]name.service.${this.options.domain ?? 'consul'}) or the path (/name/...)`, null);
    const d = this.services.loaded ? this.services.get(route.service, route.tag) : undefined;
    if (d && d.loaded) return new Exchange(this, req, res, scanned, route, d, t0).send();
    void this.#discovery(route).then(x => {
      if (typeof x === 'string') this.#reply({ req, res, host: scanned.host, t0 }, 503, x, route);
      else new Exchange(this, req, res, scanned, route, x, t0).send();
    });
  }

  /** @internal for Exchange */ get upstreams(): Upstreams { return this.#upstreams; }
  /** @internal for Exchange */ get log(): AccessLog | null { return this.#log; }
  /** @internal for Exchange */ reply(x: Exchange, status: number, msg: string): void { this.#reply(x, status, msg, x.route); }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const t0 = performance.now();
    const fail = (status: number, msg: string, route: Route | null) => {
      socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : status === 503 ? 'Service Unavailable' : 'Bad Gateway'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(msg) + 1}\r\nConnection: close\r\n\r\n${msg}\n`);
      this.#log?.write(req.method, req.headers.host, req.url, route, '', status, t0, 0);
      countRequest(route, status);
    };
    const route = parseRoute(req.headers.host, req.url ?? '/', this.#route);
    if (!route) return fail(404, 'no route', null);
    socket.on('error', () => socket.destroy());
    void this.#discovery(route).then(d => {
      if (typeof d === 'string') return fail(503, d, route);
      const tried = new Set<string>();
      const tryOne = (attempt: number): void => {
        const inst = d.pickNow(tried);
        if (!inst) return fail(tried.size ? 502 : 503, `no healthy instances of service "${route.service}"`, route);
        tried.add(inst.id);
        const done = d.strategy.begin(inst);
        const up = netConnect({ host: inst.address, port: inst.port });
        const timer = setTimeout(() => up.destroy(new Error('connect timeout')), this.options.connectTimeoutMs ?? 1000);
        let connected = false;
        up.once('error', () => {
          clearTimeout(timer);
          done();
          if (connected) { socket.destroy(); return; }
          countUpstreamError(route.service);
          d.report(inst, false);
          if (attempt < (this.options.retries ?? 2)) tryOne(attempt + 1); else fail(502, `upstream of service "${route.service}" failed`, route);
        });
        up.once('connect', () => {
          clearTimeout(timer);
          connected = true;
          d.report(inst, true);
          const h = req.rawHeaders;
          let head0 = `${req.method} ${route.path} HTTP/${req.httpVersion}\r\n`;
          for (let i = 0; i < h.length; i += 2) if (h[i]!.toLowerCase() !== 'x-forwarded-for') head0 += `${h[i]}: ${h[i + 1]}\r\n`;
          const ip = req.socket.remoteAddress ?? '';
          head0 += `X-Forwarded-For: ${req.headers['x-forwarded-for'] ? `${req.headers['x-forwarded-for'] as string}, ${ip}` : ip}\r\n\r\n`;
          up.write(head0);
          if (head.length) up.write(head);
          let status = 0;
          up.once('data', (chunk: Buffer) => { status = Number(/^HTTP\/1\.\d (\d{3})/.exec(chunk.subarray(0, 16).toString('latin1'))?.[1] ?? 0); });
          up.pipe(socket);
          socket.pipe(up);
          const end = () => { done(); };
          up.once('close', () => { socket.destroy(); end(); this.#log?.write(req.method, req.headers.host, req.url, route, `${inst.address}:${inst.port}`, status, t0, attempt + 1); countRequest(route, status); });
          socket.once('close', () => up.destroy());
        });
      };
      tryOne(0);
    });
  }
}

/**
 * One client request on its way upstream, and undici's handler for each attempt: a fixed-shape
 * object with methods, so a proxied request allocates no closures beyond the client-gone listener.
 * undici's native handler shape (onConnect/onHeaders/onData/onComplete/onError) is used: the newer
 * controller API is an adapter over it that also parses every response header into an object.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly router: ServiceRouter;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly host: string | undefined;
  readonly headers: string[];
  readonly body: boolean;
  readonly route: Route;
  readonly d: Discovery;
  readonly t0: number;
  attempt = 0;
  tried: Set<string> | undefined = undefined;
  inst: Instance | undefined = undefined;
  finish: (() => void) | undefined = undefined;
  abort: ((err: Error) => void) | undefined = undefined;
  resume: (() => void) | undefined = undefined;
  bodyStarted = false;
  responded = false;

  constructor(router: ServiceRouter, req: IncomingMessage, res: ServerResponse, s: Scanned, route: Route, d: Discovery, t0: number) {
    this.router = router;
    this.req = req;
    this.res = res;
    this.host = s.host;
    this.headers = s.headers;
    this.body = s.body;
    this.route = route;
    this.d = d;
    this.t0 = t0;
    res.once('close', () => { if (!res.writableFinished) this.abort?.(new Error('client went away')); });
  }

  /** Picks an instance (not one already tried) and sends the request to it. */
  send(): void {
    const inst = this.d.pickNow(this.tried);
    if (!inst) {
      const route = this.route;
      if (this.tried) return this.router.reply(this, 502, `no instance of service "${route.service}" answered (${this.tried.size} tried)`);
      return this.router.reply(this, 503, `no healthy instances of service "${route.service}"${route.tag ? ` with tag "${route.tag}"` : ''}`);
    }
    this.inst = inst;
    this.abort = undefined;
    this.finish = this.d.strategy.begin(inst);
    this.router.upstreams.dispatch({
      origin: originOf(inst), method: this.req.method ?? 'GET', path: this.route.path, headers: this.headers,
      body: this.body ? lazyBody(this.req, () => { this.bodyStarted = true; }) : null,
    }, this);
  }

  onConnect(abort: (err: Error) => void): void {
    this.abort = abort;
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, message: string): boolean {
    this.responded = true;
    this.d.report(this.inst!, true);
    this.res.writeHead(status, message, responseHeaders(raw) as unknown as OutgoingHttpHeaders);
    this.resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.resume!); // undici pauses the upstream until the client catches up
    return false;
  }

  onComplete(): void {
    this.res.end();
    this.finish!();
    const inst = this.inst!;
    this.router.log?.write(this.req.method, this.host, this.req.url, this.route, `${inst.address}:${inst.port}`, this.res.statusCode, this.t0, this.attempt + 1);
    countRequest(this.route, this.res.statusCode);
  }

  onError(err: Error & { code?: string }): void {
    this.finish!();
    const res = this.res;
    if (this.responded) { res.destroy(); return; }
    if (res.destroyed || res.headersSent) return;
    const inst = this.inst!;
    countUpstreamError(this.route.service);
    this.d.report(inst, false);
    const o = this.router.options;
    const timeout = err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_BODY_TIMEOUT';
    const connectFailure = err.code === 'ECONNREFUSED' || err.code === 'UND_ERR_CONNECT_TIMEOUT' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH';
    if (this.attempt < (o.retries ?? 2) && !this.bodyStarted && (connectFailure || (!this.body && IDEMPOTENT.has(this.req.method ?? 'GET') && !timeout))) {
      (this.tried ??= new Set()).add(inst.id);
      this.attempt++;
      return this.send();
    }
    if (timeout) return this.router.reply(this, 504, `upstream ${inst.address}:${inst.port} of service "${this.route.service}" timed out`);
    this.router.reply(this, 502, `upstream ${inst.address}:${inst.port} of service "${this.route.service}" failed: ${err.code ?? err.message}`);
  }
}
