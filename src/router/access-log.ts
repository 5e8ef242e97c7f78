/**
 * @module Structured access log: one JSON line per request (time, method, host, path, service,
 * upstream, status, duration_ms, attempts), batched per event-loop turn so logging costs one write.
 */
import type { Route } from './route.ts';

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
    const line = `{"time":"${this.#iso}","method":${JSON.stringify(method ?? '')},"host":${JSON.stringify(host ?? '')},"path":${JSON.stringify(url ?? '')},"service":${JSON.stringify(route ? (route.tag ? `${route.tag}.${route.service}` : route.service) : '')},"upstream":"${upstream}","status":${status},"duration_ms":${(performance.now() - t0).toFixed(3)},"attempts":${attempts}}\n`;
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
