/**
 * @module Structured access log: one JSON line per request (time, method, host, path, service,
 * upstream, status, duration_ms, attempts), batched per event-loop turn so logging costs one write.
 */
import type { IncomingMessage } from 'node:http';
import type { Route } from './route.ts';

export class AccessLog {
  #out: NodeJS.WritableStream;
  #buf = '';
  #scheduled = false;

  constructor(out: NodeJS.WritableStream) {
    this.#out = out;
  }

  write(req: IncomingMessage, route: Route | null, upstream: string, status: number, t0: number, attempts: number): void {
    const line = `{"time":"${new Date().toISOString()}","method":${JSON.stringify(req.method)},"host":${JSON.stringify(req.headers.host ?? '')},"path":${JSON.stringify(req.url ?? '')},"service":${JSON.stringify(route ? (route.tag ? `${route.tag}.${route.service}` : route.service) : '')},"upstream":"${upstream}","status":${status},"duration_ms":${(performance.now() - t0).toFixed(3)},"attempts":${attempts}}\n`;
    this.#buf += line;
    if (this.#buf.length > 3500) this.flush(); // writes stay under PIPE_BUF, so -workers processes never interleave lines
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (!this.#buf) return;
    const b = this.#buf;
    this.#buf = '';
    this.#out.write(b);
  }
}
