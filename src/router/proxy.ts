/**
 * @module The router: an HTTP/1.1 reverse proxy that sends each request to a healthy instance of the
 * service its Host or path names (keep-alive upstream pool), retries connection failures on another
 * instance with passive ejection, answers 503 at once when there is no such service or no healthy
 * instance, passes streaming bodies and WebSocket upgrades through, and writes one JSON access-log
 * line per request. Stateless: any number of routers can run side by side.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { Agent as Upstreams, type Dispatcher } from 'undici';
import { AgentApi } from '../client/api.ts';
import type { Discovery } from '../client/discovery.ts';
import type { Instance, StrategyName } from '../client/types.ts';
import { compileRouteOptions, parseRoute, type Route } from './route.ts';
import { ServiceSet } from './services.ts';
import { AccessLog } from './access-log.ts';

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
// (Node sends 100 Continue), and `host` is set explicitly below.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'host', 'expect']);

function requestHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const h = req.headers;
  const extra = typeof h.connection === 'string' && h.connection !== 'keep-alive' && h.connection !== 'close' ? new Set(h.connection.toLowerCase().split(/\s*,\s*/)) : null;
  for (const k in h) {
    const v = h[k];
    if (v !== undefined && !HOP.has(k) && !extra?.has(k)) out[k] = v;
  }
  if (h.host) out.host = h.host;
  const ip = req.socket.remoteAddress ?? '';
  out['x-forwarded-for'] = h['x-forwarded-for'] ? `${h['x-forwarded-for'] as string}, ${ip}` : ip;
  if (!h['x-forwarded-host'] && h.host) out['x-forwarded-host'] = h.host;
  if (!h['x-forwarded-proto']) out['x-forwarded-proto'] = 'http';
  return out;
}

/** Response headers minus hop-by-hop ones (undici hands them over parsed, names lower-cased). */
function responseHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  if (h.connection !== undefined || h['keep-alive'] !== undefined || h['transfer-encoding'] !== undefined || h['proxy-connection'] !== undefined) {
    const out: OutgoingHttpHeaders = {};
    for (const k in h) if (k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding' && k !== 'proxy-connection') out[k] = h[k];
    return out;
  }
  return h;
}

/** The request body as an iterable that touches the client stream only when the upstream starts
 *  reading it, so a connection failure before that can still be retried on another instance. */
function lazyBody(req: IncomingMessage, started: () => void): Readable {
  return Readable.from((async function* () { started(); for await (const chunk of req) yield chunk as Buffer; })(), { objectMode: false });
}

function hasBody(h: IncomingHttpHeaders): boolean {
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
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
  #route: ReturnType<typeof compileRouteOptions>;
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
      api: new AgentApi(o.httpAddr || process.env.CONSUL_HTTP_ADDR || '127.0.0.1:8500', o.token ?? process.env.CONSUL_HTTP_TOKEN ?? ''),
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

  #reply(req: IncomingMessage, res: ServerResponse, status: number, msg: string, t0: number, route: Route | null): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(msg) + 1 });
    res.end(msg + '\n');
    this.#log?.write(req, route, '', status, t0, 0);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const t0 = performance.now();
    const route = parseRoute(req.headers.host, req.url ?? '/', this.#route);
    if (!route) return this.#reply(req, res, 404, `no route: name a service in the Host header ([tag.]name.service.${this.options.domain ?? 'consul'}) or the path (/name/...)`, t0, null);
    const d = this.services.loaded ? this.services.get(route.service, route.tag) : undefined;
    if (d && d.loaded) return this.#attempt(req, res, route, d, new Set(), 0, t0);
    void this.#discovery(route).then(x => {
      if (typeof x === 'string') this.#reply(req, res, 503, x, t0, route);
      else this.#attempt(req, res, route, x, new Set(), 0, t0);
    });
  }

  #attempt(req: IncomingMessage, res: ServerResponse, route: Route, d: Discovery, tried: Set<string>, attempt: number, t0: number): void {
    const inst = d.pickNow(tried);
    if (!inst) {
      if (tried.size) return this.#reply(req, res, 502, `no instance of service "${route.service}" answered (${tried.size} tried)`, t0, route);
      return this.#reply(req, res, 503, `no healthy instances of service "${route.service}"${route.tag ? ` with tag "${route.tag}"` : ''}`, t0, route);
    }
    tried.add(inst.id);
    const done = d.strategy.begin(inst);
    const body = hasBody(req.headers);
    let bodyStarted = false;
    let responded = false;
    let controller: Dispatcher.DispatchController | undefined;
    const onClientGone = () => { if (!res.writableFinished) controller?.abort(new Error('client went away')); };
    res.once('close', onClientGone);
    this.#upstreams.dispatch({
      origin: originOf(inst),
      method: req.method ?? 'GET', path: route.path, headers: requestHeaders(req),
      body: body ? lazyBody(req, () => { bodyStarted = true; }) : null,
    }, {
      onRequestStart: c => { controller = c; },
      onResponseStart: (_c, status, headers, message) => {
        responded = true;
        d.report(inst, true);
        res.writeHead(status, message, responseHeaders(headers));
      },
      onResponseData: (c, chunk) => {
        if (!res.write(chunk)) { c.pause(); res.once('drain', () => c.resume()); }
      },
      onResponseEnd: () => {
        res.off('close', onClientGone);
        res.end();
        done();
        this.#log?.write(req, route, `${inst.address}:${inst.port}`, res.statusCode, t0, attempt + 1);
      },
      onResponseError: (_c, err: Error & { code?: string }) => {
        res.off('close', onClientGone);
        done();
        if (responded) { res.destroy(); return; }
        if (res.destroyed || res.headersSent) return;
        d.report(inst, false);
        const timeout = err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_BODY_TIMEOUT';
        const connectFailure = err.code === 'ECONNREFUSED' || err.code === 'UND_ERR_CONNECT_TIMEOUT' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH';
        const canRetry = attempt < (this.options.retries ?? 2) && !bodyStarted && (connectFailure || (!body && IDEMPOTENT.has(req.method ?? 'GET') && !timeout));
        if (canRetry) return this.#attempt(req, res, route, d, tried, attempt + 1, t0);
        if (timeout) return this.#reply(req, res, 504, `upstream ${inst.address}:${inst.port} of service "${route.service}" timed out`, t0, route);
        this.#reply(req, res, 502, `upstream ${inst.address}:${inst.port} of service "${route.service}" failed: ${err.code ?? err.message}`, t0, route);
      },
    });
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const t0 = performance.now();
    const fail = (status: number, msg: string, route: Route | null) => {
      socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : status === 503 ? 'Service Unavailable' : 'Bad Gateway'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(msg) + 1}\r\nConnection: close\r\n\r\n${msg}\n`);
      this.#log?.write(req, route, '', status, t0, 0);
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
          up.once('close', () => { socket.destroy(); end(); this.#log?.write(req, route, `${inst.address}:${inst.port}`, status, t0, attempt + 1); });
          socket.once('close', () => up.destroy());
        });
      };
      tryOne(0);
    });
  }
}
