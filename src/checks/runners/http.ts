/**
 * @module HTTP check runner, as Consul's CheckHTTP: one request without keep-alive, 2xx passing,
 * 429 warning, anything else (or an error) critical; Output `HTTP GET <url>: 200 OK Output: <body>`
 * with the first 4 KiB of the body: the runner stops reading there and closes the connection (Consul
 * reads the whole body through a 4 KiB circular buffer and keeps its last 4 KiB). A timeout says
 * what it interrupted, as Go's client does: `awaiting headers` or `reading body` (critical).
 */
import { request as httpRequest, STATUS_CODES } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { CheckDefinition } from '../../catalog/model.ts';
import { OUTPUT_MAX, type RunResult } from '../types.ts';
import { goError } from './errors.ts';

/** Go's http.Client follows at most 10 redirects. */
const MAX_REDIRECTS = 10;

/** Runs one HTTP probe; redirects are followed as Go's client does (Consul's default). */
export function runHttp(def: CheckDefinition, signal: AbortSignal): Promise<RunResult> {
  return probe(def, signal, def.HTTP ?? '', (def.Method || 'GET').toUpperCase(), def.Body ?? '', 0);
}

function probe(def: CheckDefinition, signal: AbortSignal, current: string, method: string, body: string, hops: number): Promise<RunResult> {
  const target = def.HTTP ?? '';
  const op = method.charAt(0) + method.slice(1).toLowerCase();
  return new Promise<RunResult>(resolve => {
    let url: URL;
    try {
      url = new URL(current);
    } catch {
      resolve({ status: 'critical', output: `parse "${target}": invalid URI for request` });
      return;
    }
    const headers: Record<string, string | string[]> = { 'User-Agent': 'Consul Health Check', Accept: 'text/plain, text/*, */*', Connection: 'close' };
    let host: string | undefined;
    for (const [k, v] of Object.entries(def.Header ?? {})) {
      if (k.toLowerCase() === 'host') { host = v[0]; continue; }
      headers[k] = v;
    }
    if (host) headers.Host = host;
    if (body) headers['Content-Length'] = String(Buffer.byteLength(body));
    let done = false;
    let gotHeaders = false;
    // Go's http.Client words a timeout by what it was waiting for.
    const timeoutMsg = () => gotHeaders
      ? 'context deadline exceeded (Client.Timeout or context cancellation while reading body)'
      : 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)';
    const onAbort = () => finish({ status: 'critical', output: `${op} "${target}": ${timeoutMsg()}` });
    const finish = (r: RunResult) => { if (!done) { done = true; signal.removeEventListener('abort', onAbort); resolve(r); } };
    const mod = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : null;
    if (!mod) { finish({ status: 'critical', output: `${op} "${target}": unsupported protocol scheme "${url.protocol.replace(/:$/, '')}"` }); return; }
    const req = mod(url, {
      method, headers, agent: false, signal,
      rejectUnauthorized: !def.TLSSkipVerify, servername: def.TLSServerName || undefined,
    }, res => {
      const code0 = res.statusCode ?? 0;
      const loc = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(code0) && loc) {
        res.resume();
        signal.removeEventListener('abort', onAbort); // the next hop words its own timeout
        if (hops >= MAX_REDIRECTS) { finish({ status: 'critical', output: `${op} "${loc}": stopped after 10 redirects` }); return; }
        const keep = code0 === 307 || code0 === 308;
        let next: string;
        try { next = new URL(loc, url).toString(); } catch { finish({ status: 'critical', output: `${op} "${target}": failed to parse Location header "${loc}"` }); return; }
        void probe(def, signal, next, keep || method === 'HEAD' ? method : 'GET', keep ? body : '', hops + 1).then(finish);
        return;
      }
      gotHeaders = true;
      // Consul keeps 4 KiB of output: read that much and no more, then drop the connection, so a
      // target answering 10 MB (or an endless body) costs 4 KiB and no more reading.
      const chunks: Buffer[] = [];
      let size = 0;
      const end = () => {
        let out = Buffer.concat(chunks);
        if (out.length > OUTPUT_MAX) out = out.subarray(0, OUTPUT_MAX);
        const code = res.statusCode ?? 0;
        const statusLine = `${code} ${res.statusMessage || STATUS_CODES[code] || ''}`;
        const output = `HTTP ${method} ${target}: ${statusLine} Output: ${out.toString('utf8')}`;
        finish({ status: code >= 200 && code <= 299 ? 'passing' : code === 429 ? 'warning' : 'critical', output });
      };
      res.on('data', (c: Buffer) => {
        if (done) return;
        chunks.push(c);
        size += c.length;
        if (size >= OUTPUT_MAX) { end(); req.destroy(); }
      });
      res.on('end', end);
      res.on('error', end);
      res.on('aborted', end);
    });
    req.on('error', err => {
      const msg = signal.aborted ? timeoutMsg() : goError(err as NodeJS.ErrnoException, 'tcp', `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`);
      finish({ status: 'critical', output: `${op} "${target}": ${msg}` });
    });
    // Runs before the request's own abort handling emits anything, so the timeout is worded by what was pending.
    signal.addEventListener('abort', onAbort);
    req.end(body || undefined);
  });
}
