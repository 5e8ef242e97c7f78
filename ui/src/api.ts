/**
 * The agent's HTTP API as the UI uses it: the ACL token (browser-only, localStorage, sent as
 * X-Consul-Token), blocking queries that follow the catalog (?index=&wait=), and one connection state
 * shared by every page: a request that cannot reach the agent marks it lost, the next answer marks it back.
 */
import { useEffect, useState } from 'preact/hooks';

const TOKEN_KEY = 'roster.token';

export function getToken(): string {
  try { return localStorage.getItem(TOKEN_KEY) ?? ''; } catch { return ''; }
}

export function setToken(t: string): void {
  try { if (t) localStorage.setItem(TOKEN_KEY, t); else localStorage.removeItem(TOKEN_KEY); } catch { /* storage disabled */ }
  notify();
}

/** Connection to the agent: `lost` since when (ms epoch) and when the next retry is due. */
export interface Conn { lost: number | null; retryAt: number | null; error: string }

let conn: Conn = { lost: null, retryAt: null, error: '' };
const listeners = new Set<() => void>();
function notify(): void { for (const l of listeners) l(); }

function setConn(c: Conn): void {
  if (c.lost === conn.lost && c.retryAt === conn.retryAt && c.error === conn.error) return;
  conn = c;
  notify();
}

export function connectionLost(error: string, retryAt: number): void {
  setConn({ lost: conn.lost ?? Date.now(), retryAt, error });
}

export function connectionOk(): void {
  if (conn.lost !== null) setConn({ lost: null, retryAt: null, error: '' });
}

/** Re-renders the caller when the connection state or the token changes. */
export function useConn(): Conn {
  const [, set] = useState(0);
  useEffect(() => {
    const l = () => set(n => n + 1);
    listeners.add(l);
    return () => { listeners.delete(l); };
  }, []);
  return conn;
}

/** An HTTP answer that is not 2xx, with Consul's plain-text reason. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function headers(extra?: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = { ...extra };
  const t = getToken();
  if (t) h['X-Consul-Token'] = t;
  return h;
}

/**
 * One request; network failures mark the connection lost, any answer marks it back. An agent that does not
 * answer within `timeoutMs` (a frozen process, a dropped network) counts as lost too.
 */
export async function api(method: string, path: string, body?: string, signal?: AbortSignal, timeoutMs = 10_000): Promise<Response> {
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  let res: Response;
  try {
    res = await fetch(path, { method, body, headers: headers(), signal: ac.signal, cache: 'no-store' });
  } catch (err) {
    if (!signal?.aborted) {
      const why = ac.signal.aborted ? `no answer within ${Math.round(timeoutMs / 1000)} s` : (err as Error).message;
      connectionLost(why, Date.now());
      throw new Error(why);
    }
    throw err;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  connectionOk();
  if (!res.ok && res.status !== 404) throw new ApiError(res.status, (await res.text()).trim() || res.statusText);
  return res;
}

export async function apiJson<T>(method: string, path: string, body?: string): Promise<T> {
  const res = await api(method, path, body);
  if (res.status === 404) throw new ApiError(404, (await res.text()).trim() || 'Not found');
  return res.json() as Promise<T>;
}

export interface Blocking<T> {
  data: T | undefined;
  /** null while found; set for a 404 (unknown node, key...) */
  missing: boolean;
  error: string;
  index: number;
}

/** Backoff after failures: 0.5 s doubling to 15 s, with jitter. */
export function backoff(failures: number): number {
  const base = Math.min(15_000, 500 * 2 ** Math.max(0, failures - 1));
  return base / 2 + Math.random() * (base / 2);
}

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>(r => {
  const t = setTimeout(r, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
});

/**
 * Follows `path` with blocking queries: the first read answers at once, then each read waits (up to
 * `wait`) for X-Consul-Index to move past the last one. An index that goes backwards (the catalog was
 * restored or Redis replaced) starts over from 0, as Consul's docs advise. Failures back off and retry
 * for as long as the page shows the data. `path` null = nothing to follow.
 */
export function useBlocking<T>(path: string | null, waitSec = 30): Blocking<T> {
  const [state, setState] = useState<Blocking<T>>({ data: undefined, missing: false, error: '', index: 0 });
  useConn(); // a new token restarts the query with it
  const token = getToken();
  useEffect(() => {
    setState({ data: undefined, missing: false, error: '', index: 0 });
    if (path === null) return;
    const ac = new AbortController();
    void (async () => {
      let index = 0;
      let failures = 0;
      while (!ac.signal.aborted) {
        const sep = path.includes('?') ? '&' : '?';
        const url = index > 0 ? `${path}${sep}index=${index}&wait=${waitSec}s` : path;
        try {
          // The agent answers a blocking read by wait + wait/16 (jitter); give it 5 s more before calling it lost.
          const res = await api('GET', url, undefined, ac.signal, index > 0 ? waitSec * 1000 * 17 / 16 + 5000 : 10_000);
          failures = 0;
          const idx = Number(res.headers.get('X-Consul-Index') ?? 0);
          if (res.status === 404) {
            await res.text();
            setState(s => ({ ...s, data: undefined, missing: true, error: '', index: idx }));
          } else {
            const data = (await res.json()) as T;
            if (ac.signal.aborted) return;
            setState({ data, missing: false, error: '', index: idx });
          }
          index = idx < index || !(idx > 0) ? 0 : idx;
          // An index that does not move (or no index at all) must not spin: pace such reads.
          if (index === 0) await sleep(1000, ac.signal);
        } catch (err) {
          if (ac.signal.aborted) return;
          failures++;
          const delay = backoff(failures);
          if (err instanceof ApiError) setState(s => ({ ...s, error: `${err.status}: ${err.message}` }));
          else connectionLost((err as Error).message, Date.now() + delay);
          index = 0;
          await sleep(delay, ac.signal);
        }
      }
    })();
    return () => ac.abort();
  }, [path, waitSec, token]);
  return state;
}

/** Polls a non-blocking endpoint (e.g. /v1/agent/members) every `everyMs`. */
export function usePoll<T>(path: string, everyMs: number): T | undefined {
  const [data, setData] = useState<T | undefined>(undefined);
  useConn();
  const token = getToken();
  useEffect(() => {
    const ac = new AbortController();
    void (async () => {
      let failures = 0;
      while (!ac.signal.aborted) {
        try {
          const res = await api('GET', path, undefined, ac.signal);
          setData((await res.json()) as T);
          failures = 0;
          await sleep(everyMs, ac.signal);
        } catch {
          failures++;
          await sleep(Math.max(everyMs, backoff(failures)), ac.signal);
        }
      }
    })();
    return () => ac.abort();
  }, [path, everyMs, token]);
  return data;
}

/** Percent-encodes each segment of a path (KV keys and names may hold any character but `/`). */
export function encPath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/** Decodes a KV value (base64) as UTF-8; null when it is not valid UTF-8 (binary). */
export function decodeValue(b64: string | null): string | null {
  if (!b64) return '';
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, c => c.charCodeAt(0));
  try { return new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch { return null; }
}

let firstRender = false;
/** Marks the first page drawn with data (performance mark `roster:first-render`, read by the browser test). */
export function markRendered(): void {
  if (firstRender) return;
  firstRender = true;
  performance.mark('roster:first-render');
}
