/**
 * @module Structured access log: one JSON line per request (time, method, host, path, service,
 * upstream, status, duration_ms, attempts), batched: one write per 3.5 KB of lines or 50 ms.
 */
import type { Route } from './route.ts';

const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

/** A JSON string literal; most values need no escaping, so skip JSON.stringify for those. (Service
 *  names come from the route parser, which admits only DNS label characters, and are written raw.) */
function str(s: string | undefined): string {
  if (s === undefined) return '""';
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

export class AccessLog {
  #out: NodeJS.WritableStream;
  #buf = '';
  #scheduled = false;

  constructor(out: NodeJS.WritableStream) {
    this.#out = out;
  }

  #ms = 0;
  #iso = '';

  write(method: string | undefined, host: string | undefined, url: string | undefined, route: Route | null, upstream: string, status: number, t0: number, attempts: number): void {
    const ms = Date.now();
    if (ms !== this.#ms) { this.#ms = ms; this.#iso = new Date(ms).toISOString(); }
    const line = `{"time":"${this.#iso}","method":${str(method)},"host":${str(host)},"path":${str(url)},"service":"${route ? (route.tag ? `${route.tag}.${route.service}` : route.service) : ''}","upstream":${str(upstream)},"status":${status},"duration_ms":${Math.round((performance.now() - t0) * 1000) / 1000},"attempts":${attempts}}\n`;
    this.#buf += line;
    if (this.#buf.length > 3500) this.flush(); // writes stay under PIPE_BUF, so -workers processes never interleave lines
    else if (!this.#scheduled) {
      // A timer, not setImmediate: a pending immediate makes every event-loop turn poll without
      // waiting, which costs more than the log itself under load. Lines are at most 50 ms late.
      this.#scheduled = true;
      setTimeout(this.#flushNow, 50).unref();
    }
  }

  #flushNow = (): void => { this.flush(); };

  flush(): void {
    this.#scheduled = false;
    if (!this.#buf) return;
    const b = this.#buf;
    this.#buf = '';
    this.#out.write(b);
  }
}
