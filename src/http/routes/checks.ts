/**
 * @module Check endpoints: /v1/agent/check/{register,deregister,update} and the check reads
 * /v1/health/{checks/:service,node/:node,state/:state} (blocking, meta headers, node-meta, dc).
 */
import { HttpError, type Router } from '../server.ts';
import { decode, CHECK_FIELDS, CHECK_ALIASES, type Schema } from '../decode.ts';
import { blocking, sharedBlocking } from '../blocking.ts';
import { agentRegister, metaHeaders, readMode, renderedReply, requireRedis, type ApiDeps } from '../context.ts';
import { buildCheck } from '../registration.ts';
import { wireCheck } from '../../consul/convert.ts';
import type { CheckRec, HealthStatus } from '../../catalog/model.ts';
import { nodeMetaFilter } from './catalog.ts';
import { agentDeregisterRoute, setTtlStatus, writeMethods } from './agent.ts';
import { applyFilter } from './filter-hook.ts';

/** Consul's CheckDefinition: CheckType's fields, keyed `ID` (a `CheckID` field is unknown). */
const { CheckID: _omit, ...REGISTER_FIELDS } = CHECK_FIELDS;
void _omit;
export const CHECK_REGISTER_SCHEMA: Schema = { fields: { ...REGISTER_FIELDS, Token: 'string' }, aliases: CHECK_ALIASES };
const UPDATE_SCHEMA: Schema = { fields: { Status: 'string', Output: 'string' } };

const STATUSES = ['passing', 'warning', 'critical'];

/** Checks sorted as Consul's state store returns them: by node, then check ID. */
function byNodeThenId(a: CheckRec, b: CheckRec): number {
  const an = a.Node.toLowerCase(), bn = b.Node.toLowerCase();
  return an < bn ? -1 : an > bn ? 1 : a.CheckID < b.CheckID ? -1 : a.CheckID > b.CheckID ? 1 : 0;
}

/** Registers the check endpoints. */
export function checkRoutes(r: Router, deps: ApiDeps): void {
  const v = deps.view;

  r.add(['PUT'], '/v1/agent/check/register', async ctx => {
    requireRedis(deps);
    const d = decode(await ctx.json(), CHECK_REGISTER_SCHEMA);
    if (!d.Name) throw new HttpError(400, 'Missing check name');
    if (d.Status !== undefined && d.Status !== '' && !STATUSES.includes(d.Status as string)) throw new HttpError(400, 'Bad check status');
    const sid = (d.ServiceID as string | undefined) ?? '';
    // Validate the definition first (400 Invalid check: ...), then the service link (404), as Consul.
    buildCheck(d, { node: deps.nodeName, serviceId: '', serviceName: '', serviceTags: [], defaultId: d.Name as string, defaultName: d.Name as string, standalone: true });
    let svc: { ID: string; Service: string; Tags: string[] } = { ID: '', Service: '', Tags: [] };
    if (sid) {
      const s = v.node(deps.nodeName)?.services.get(sid);
      if (!s) throw new HttpError(404, `ServiceID "${sid}" does not exist`);
      svc = s;
    }
    const w = buildCheck(d, { node: deps.nodeName, serviceId: svc.ID, serviceName: svc.Service, serviceTags: svc.Tags, defaultId: d.Name as string, defaultName: d.Name as string, standalone: true });
    await agentRegister(deps, { nodeName: deps.nodeName, node: null, services: [], checks: [w] });
    return {};
  });

  agentDeregisterRoute(r, deps, 'check');

  r.add(['PUT'], '/v1/agent/check/update/', async ctx => {
    requireRedis(deps);
    const d = decode(await ctx.json(), UPDATE_SCHEMA);
    const status = (d.Status as string | undefined) ?? '';
    if (!STATUSES.includes(status)) throw new HttpError(400, `Invalid check status: '${status}'`);
    await setTtlStatus(deps, ctx.param, status as HealthStatus, (d.Output as string | undefined) ?? '');
    return {};
  });

  r.add(['GET'], '/v1/health/checks/', async ctx => {
    const mode = await readMode(ctx, deps);
    const name = ctx.param.toLowerCase();
    const meta = nodeMetaFilter(ctx.query);
    const res = await sharedBlocking(ctx, deps.notifier, {
      topics: [`svc:${name}`],
      index: () => v.serviceIndex.get(name) ?? Math.max(v.tableIndex.services ?? 0, v.tableIndex.nodes ?? 0),
      render: () => {
        const out: CheckRec[] = [];
        for (const inst of v.instances(name)) {
          if (!meta(inst)) continue;
          for (const c of inst.checks) if (c.ServiceID === inst.service.ID) out.push(c);
        }
        return applyFilter(ctx, out.sort(byNodeThenId).map(wireCheck));
      },
    });
    return renderedReply(res, mode, v.freshness());
  });

  r.add(['GET'], '/v1/health/node/', async ctx => {
    const mode = await readMode(ctx, deps);
    const node = ctx.param;
    const res = await blocking(ctx, deps.notifier, { topics: [`node:${node.toLowerCase()}`, 'table:checks'] }, () => {
      const st = v.node(node);
      return { index: v.tableIndex.checks ?? 0, data: st ? applyFilter(ctx, [...st.checks.values()].sort(byNodeThenId).map(wireCheck)) : [] };
    });
    return { body: res.data, headers: metaHeaders(res.index, mode, v.freshness()) };
  });

  r.add(['GET'], '/v1/health/state/', async ctx => {
    const mode = await readMode(ctx, deps);
    const state = ctx.param;
    if (state === '') throw new HttpError(400, 'Missing check state');
    const meta = nodeMetaFilter(ctx.query);
    const res = await blocking(ctx, deps.notifier, { topics: ['table:checks'] }, () => {
      const out: CheckRec[] = [];
      for (const st of v.nodes()) {
        if (!meta(st)) continue;
        for (const c of st.checks.values()) if (state === 'any' || c.Status === state) out.push(c);
      }
      return { index: v.tableIndex.checks ?? 0, data: applyFilter(ctx, out.sort(byNodeThenId).map(wireCheck)) };
    });
    return { body: res.data, headers: metaHeaders(res.index, mode, v.freshness()) };
  });
}
