/**
 * @module PUT /v1/roster/query/:name — Roster's own endpoint (Consul has none) to send a Serf
 * query to the cluster and collect acks and responses, like `serf query`.
 * Params: `node` (repeatable), `tag=k:regex` (repeatable), `timeout` (Go duration), `ack`.
 * Body: the payload. Answer: {"Acks":[node...],"Responses":{"node":"payload as text"}}.
 */
import { HttpError, type Router } from '../server.ts';
import type { ApiDeps } from '../context.ts';
import { parseDurationNs } from '../../util/duration.ts';

export function queryRoutes(r: Router, deps: ApiDeps): void {
  r.add(['PUT', 'POST'], '/v1/roster/query/', async ctx => {
    if (!deps.hooks.query) throw new HttpError(500, 'gossip is not running on this agent');
    if (!ctx.param) throw new HttpError(400, 'Missing query name');
    let timeoutMs = 0;
    const t = ctx.query.get('timeout');
    if (t) {
      try { timeoutMs = parseDurationNs(t) / 1e6; } catch { throw new HttpError(400, `Invalid timeout: ${t}`); }
    }
    const tags: Record<string, string> = {};
    for (const kv of ctx.query.getAll('tag')) {
      const i = kv.indexOf(':');
      if (i < 1) throw new HttpError(400, `Invalid tag filter "${kv}": want key:regexp`);
      tags[kv.slice(0, i)] = kv.slice(i + 1);
    }
    const res = await deps.hooks.query(ctx.param, await ctx.body(), { nodes: ctx.query.getAll('node'), tags, timeoutMs, ack: ctx.has('ack') });
    return { body: { Acks: res.acks.sort(), Responses: Object.fromEntries(res.responses.map(x => [x.from, Buffer.from(x.payload).toString('utf8')])) } };
  });
}
