/**
 * @module The thin HTTP client the library uses for the agent's public API (no agent internals):
 * base-address parsing (CONSUL_HTTP_ADDR forms), the token header, timeouts, typed errors.
 */

/** A non-2xx answer from the agent. */
export class ApiError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string, what: string) {
    super(`${what}: HTTP ${status}: ${body.trim()}`);
    this.status = status;
    this.body = body;
  }
}

/** `127.0.0.1:8500`, `http://host:port`, `https://host` → a base URL without trailing slash. */
export function baseUrl(addr: string): string {
  let a = addr.trim().replace(/\/+$/, '');
  if (!/^https?:\/\//.test(a)) a = `http://${a}`;
  return a;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  /** X-Consul-Index, or 0 when absent. */
  index: number;
}

export interface ApiOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Statuses returned instead of thrown (e.g. 404 when probing). */
  allow?: number[];
}

/** TLS material for an https:// agent address: the CA to trust, and a client certificate and key. */
export interface AgentTls { ca?: Buffer | string; cert?: Buffer | string; key?: Buffer | string; servername?: string; insecure?: boolean }

type Fetch = (url: string, init: Record<string, unknown>) => Promise<Response>;

/** fetch with a CA and a client certificate (undici's Agent); loaded only when TLS options are given. */
export async function tlsFetch(tls: AgentTls): Promise<Fetch> {
  const { Agent, fetch } = await import('undici');
  const dispatcher = new Agent({ connect: { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername, rejectUnauthorized: !tls.insecure } });
  return (url, init) => fetch(url, { ...init, dispatcher } as never) as unknown as Promise<Response>;
}

/** Calls the agent's HTTP API at `base` with an optional ACL token. */
export class AgentApi {
  readonly base: string;
  readonly token: string;
  #fetch: Promise<Fetch> | null;

  constructor(addr: string, token = '', tls?: AgentTls) {
    this.base = baseUrl(addr);
    this.token = token;
    this.#fetch = tls && this.base.startsWith('https:') ? tlsFetch(tls) : null;
  }

  async call<T = unknown>(method: string, path: string, o: ApiOptions = {}): Promise<ApiResponse<T>> {
    let url = this.base + path;
    if (o.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(o.query)) if (v !== undefined) q.append(k, v);
      const s = q.toString().replace(/=(&|$)/g, '$1');
      if (s) url += `?${s}`;
    }
    const headers: Record<string, string> = {};
    if (this.token) headers['X-Consul-Token'] = this.token;
    const timeout = AbortSignal.timeout(Math.ceil(o.timeoutMs ?? 10_000));
    const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
    const f: Fetch = this.#fetch ? await this.#fetch : (fetch as unknown as Fetch);
    const res = await f(url, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), signal });
    const text = await res.text();
    const index = Number(res.headers.get('x-consul-index') ?? 0) || 0;
    if (!res.ok && !o.allow?.includes(res.status)) throw new ApiError(res.status, text, `${method} ${path}`);
    let body: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text);
    return { status: res.status, body: body as T, index };
  }
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise(resolve => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); signal?.removeEventListener('abort', done); resolve(); }
    signal?.addEventListener('abort', done, { once: true });
  });

/** `d` ± `fraction` uniformly. */
export function jitter(d: number, fraction = 0.1, rng: () => number = Math.random): number {
  return d * (1 - fraction + 2 * fraction * rng());
}
