/**
 * @module GET /v1/agent/monitor?loglevel=L[&logjson]: streams the agent's log as Consul does, as
 * chunked text lines (hclog's format) or JSON lines with `logjson` (a presence flag), from the
 * moment of the request until the client goes away. Unknown level → 400 `Unknown log level: <v>`.
 */
import type { Router } from '../server.ts';
import { HttpError } from '../server.ts';
import { parseLevel } from '../../log.ts';
import { MonitorStream } from '../monitor-stream.ts';

export function monitorRoutes(r: Router): void {
  r.add(['GET'], '/v1/agent/monitor', ctx => {
    const raw = ctx.query.get('loglevel') || 'INFO';
    const level = parseLevel(raw);
    if (!level) throw new HttpError(400, `Unknown log level: ${raw}`);
    const stream = new MonitorStream(level, ctx.has('logjson'));
    ctx.signal.addEventListener('abort', () => stream.destroy(), { once: true });
    return { body: stream, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' } };
  });
}
