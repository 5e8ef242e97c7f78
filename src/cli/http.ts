/**
 * @module The CLI's HTTP client: the shared flags (`-http-addr`, `-token`, `-datacenter`, ...),
 * requests to the agent, and Consul's error wording (`Unexpected response code: 500 (...)`).
 */
import { parseFlags, type FlagSpec, type FlagValues } from './flags.ts';
import { agentAddr, agentToken, readTokenFile } from '../util/agent-addr.ts';
import { readFileSync } from 'node:fs';
import { tlsFetch, type AgentTls } from '../client/api.ts';

/** Flags every API command takes (Consul's names). */
export const HTTP_FLAGS: FlagSpec = {
  'http-addr': 'string', token: 'string', 'token-file': 'string', datacenter: 'string', stale: 'bool',
  'ca-file': 'string', 'client-cert': 'string', 'client-key': 'string', 'tls-server-name': 'string',
};

export interface Api {
  base: string;
  token: string;
  dc: string;
  stale: boolean;
  /** Sends a request; resolves for every status (callers decide). */
  raw(method: string, path: string, body?: string | Buffer, query?: Record<string, string | undefined>): Promise<{ status: number; headers: Headers; text: string }>;
  /** Sends a request and parses JSON; throws `Unexpected response code` for a non-2xx status. */
  json<T = unknown>(method: string, path: string, body?: unknown, query?: Record<string, string | undefined>): Promise<{ data: T; index: number }>;
}

/** The agent address: -http-addr, then ROSTER_HTTP_ADDR, then CONSUL_HTTP_ADDR, then 127.0.0.1:8500. */
export function httpBase(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  let a = agentAddr(flag, env);
  if (a.startsWith('unix://')) throw new Error('unix socket addresses are not supported');
  if (!/^https?:\/\//.test(a)) a = `${env.CONSUL_HTTP_SSL === 'true' ? 'https' : 'http'}://${a}`;
  return a.replace(/\/+$/, '');
}

/** Encodes a path parameter (keys keep their slashes). */
export function encPath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/**
 * The ACL token, as Consul's CLI picks it: `-token`, `-token-file`, `$ROSTER_HTTP_TOKEN` /
 * `$CONSUL_HTTP_TOKEN`, `$CONSUL_HTTP_TOKEN_FILE` (files and the environment keep it out of `ps`).
 */
export function httpToken(flags: FlagValues, env: NodeJS.ProcessEnv = process.env): string {
  if (flags.token) return flags.token as string;
  if (flags['token-file']) return readTokenFile(flags['token-file'] as string);
  return agentToken(undefined, env);
}

/**
 * TLS settings for an https:// agent, as Consul's CLI reads them: `-ca-file` / `$CONSUL_CACERT`,
 * `-client-cert` / `$CONSUL_CLIENT_CERT`, `-client-key` / `$CONSUL_CLIENT_KEY`, `-tls-server-name` /
 * `$CONSUL_TLS_SERVER_NAME`, `$CONSUL_HTTP_SSL_VERIFY=false`. Null when none is set (system CAs).
 */
export function httpTls(flags: FlagValues, env: NodeJS.ProcessEnv = process.env): AgentTls | null {
  const pick = (flag: string, v: string) => (flags[flag] as string | undefined) || env[v] || '';
  const file = (path: string, what: string) => {
    if (!path) return undefined;
    try { return readFileSync(path); } catch (err) { throw new Error(`Error loading ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`); }
  };
  const ca = pick('ca-file', 'CONSUL_CACERT');
  const cert = pick('client-cert', 'CONSUL_CLIENT_CERT');
  const key = pick('client-key', 'CONSUL_CLIENT_KEY');
  const servername = pick('tls-server-name', 'CONSUL_TLS_SERVER_NAME');
  const insecure = env.CONSUL_HTTP_SSL_VERIFY === 'false' || env.CONSUL_HTTP_SSL_VERIFY === '0';
  if (!ca && !cert && !key && !servername && !insecure) return null;
  if (Boolean(cert) !== Boolean(key)) throw new Error('Error: a client certificate needs its key (-client-cert with -client-key)');
  return { ca: file(ca, 'CA file'), cert: file(cert, 'client certificate'), key: file(key, 'client key'), servername: servername || undefined, insecure };
}

export function makeApi(flags: FlagValues, env: NodeJS.ProcessEnv = process.env): Api {
  const base = httpBase(flags['http-addr'] as string | undefined, env);
  const tls = base.startsWith('https:') ? httpTls(flags, env) : null;
  const doFetch = tls ? tlsFetch(tls) : null;
  const token = httpToken(flags, env);
  const dc = (flags.datacenter as string) || '';
  const stale = flags.stale === true;
  const raw: Api['raw'] = async (method, path, body, query = {}) => {
    const u = new URL(base + path);
    if (dc) u.searchParams.set('dc', dc);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
    const headers: Record<string, string> = {};
    if (token) headers['X-Consul-Token'] = token;
    let res: Response;
    try {
      const init = { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : new Uint8Array(body) };
      res = doFetch ? await (await doFetch)(u.toString(), init) : await fetch(u, init);
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      throw new Error(`Get "${u.toString()}": ${cause}`);
    }
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  return {
    base, token, dc, stale, raw,
    async json(method, path, body, query) {
      const r = await raw(method, path, body === undefined ? undefined : JSON.stringify(body), query);
      if (r.status < 200 || r.status >= 300) throw new Error(`Unexpected response code: ${r.status} (${r.text.trim()})`);
      return { data: (r.text ? JSON.parse(r.text) : undefined) as never, index: Number(r.headers.get('x-consul-index') ?? 0) };
    },
  };
}

/** Parses a command's flags together with the shared HTTP flags. */
export function parseApiFlags(argv: string[], spec: FlagSpec): { flags: FlagValues; args: string[]; api: Api } {
  const { flags, args } = parseFlags(argv, { ...HTTP_FLAGS, ...spec });
  return { flags, args, api: makeApi(flags) };
}

/** Prints rows as aligned columns (Consul's columnize: two spaces between columns). */
export function columns(rows: string[][]): string {
  const w: number[] = [];
  for (const r of rows) r.forEach((c, i) => { w[i] = Math.max(w[i] ?? 0, c.length); });
  return rows.map(r => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** Writes an error line and returns exit code 1. */
export function fail(msg: string): number {
  process.stderr.write(`${msg}\n`);
  return 1;
}
