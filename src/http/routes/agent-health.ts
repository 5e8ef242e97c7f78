/**
 * @module /v1/agent/health/service/name/:name and /id/:id: the local health of this agent's
 * services as HTTP status codes (200 passing, 429 warning, 503 critical or maintenance, 404 unknown).
 */
import type { Ctx, Reply, Router } from '../server.ts';
import type { ApiDeps } from '../context.ts';
import { wireAgentService, wireCheck } from '../../consul/convert.ts';
import { NODE_MAINT_CHECK, SERVICE_MAINT_PREFIX, type CheckRec, type NodeState, type ServiceRec } from '../../catalog/model.ts';

const CODE: Record<string, number> = { passing: 200, warning: 429, critical: 503, maintenance: 503 };
const RANK: Record<string, number> = { passing: 0, warning: 1, critical: 2, maintenance: 3 };

/** Consul's AggregatedStatus: maintenance beats critical beats warning beats passing. */
export function aggregated(checks: CheckRec[]): string {
  let s = 'passing';
  for (const c of checks) {
    if (c.CheckID === NODE_MAINT_CHECK || c.CheckID.startsWith(SERVICE_MAINT_PREFIX)) return 'maintenance';
    if (RANK[c.Status]! > RANK[s]!) s = c.Status;
  }
  return s;
}

function textPlain(ctx: Ctx): boolean {
  if ((ctx.req.headers.accept ?? '').startsWith('text/plain')) return true;
  const f = ctx.query.get('format');
  return f ? f === 'text' : false;
}

function serviceHealth(st: NodeState, s: ServiceRec, dc: string) {
  const checks = [...st.checks.values()].filter(c => c.ServiceID === s.ID || c.ServiceID === '').sort((a, b) => (a.CheckID < b.CheckID ? -1 : 1));
  const status = aggregated(checks);
  return { status, body: { AggregatedStatus: status, Service: wireAgentService(s, dc), Checks: checks.map(wireCheck) } };
}

export function agentHealthRoutes(r: Router, deps: ApiDeps): void {
  const dc = deps.config.datacenter;
  r.add(['GET'], '/v1/agent/health/service/id/', (ctx): Reply => {
    const st = deps.view.node(deps.nodeName);
    const s = st?.services.get(ctx.param);
    if (!st || !s) {
      const reason = `ServiceId ${ctx.param} not found`;
      if (textPlain(ctx)) return { status: 404, body: reason };
      return { status: 404, body: JSON.stringify({ AggregatedStatus: 'critical', Service: null, Checks: null }), raw: true, headers: { 'Content-Type': 'application/json' } };
    }
    const h = serviceHealth(st, s, dc);
    if (textPlain(ctx)) return { status: CODE[h.status], body: h.status, raw: true, headers: { 'Content-Type': 'text/plain; charset=utf-8' } };
    return { status: CODE[h.status], body: JSON.stringify(h.body), raw: true, headers: { 'Content-Type': 'application/json' } };
  });

  r.add(['GET'], '/v1/agent/health/service/name/', (ctx): Reply => {
    const st = deps.view.node(deps.nodeName);
    const list = st ? [...st.services.values()].filter(s => s.Service.toLowerCase() === ctx.param.toLowerCase()).sort((a, b) => (a.ID < b.ID ? -1 : 1)) : [];
    if (!st || list.length === 0) {
      const reason = `ServiceName ${ctx.param} Not Found`;
      if (textPlain(ctx)) return { status: 404, body: reason };
      return { status: 404, body: '[]', raw: true, headers: { 'Content-Type': 'application/json' } };
    }
    let worst = 'passing';
    const out = list.map(s => {
      const h = serviceHealth(st, s, dc);
      if (RANK[h.status]! > RANK[worst]!) worst = h.status;
      return h.body;
    });
    if (textPlain(ctx)) return { status: CODE[worst], body: worst, raw: true, headers: { 'Content-Type': 'text/plain; charset=utf-8' } };
    return { status: CODE[worst], body: JSON.stringify(out), raw: true, headers: { 'Content-Type': 'application/json' } };
  });
}
