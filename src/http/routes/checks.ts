/**
 * @module Check endpoints: /v1/agent/check/{register,deregister,update} (the check reads are in
 * health.ts).
 */
import { HttpError, type Router } from '../server.ts';
import { decode, CHECK_FIELDS, CHECK_ALIASES, type Schema } from '../decode.ts';
import { agentRegister, requireRedis, scriptsAllowed, type ApiDeps } from '../context.ts';
import { buildCheck } from '../registration.ts';
import type { HealthStatus } from '../../catalog/model.ts';
import { agentDeregisterRoute, setTtlStatus, writeMethods } from './agent.ts';

/** Consul's CheckDefinition: CheckType's fields, keyed `ID` (a `CheckID` field is unknown). */
const { CheckID: _omit, ...REGISTER_FIELDS } = CHECK_FIELDS;
void _omit;
export const CHECK_REGISTER_SCHEMA: Schema = { fields: { ...REGISTER_FIELDS, Token: 'string' }, aliases: CHECK_ALIASES };
const UPDATE_SCHEMA: Schema = { fields: { Status: 'string', Output: 'string' } };

const STATUSES = ['passing', 'warning', 'critical'];

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
    buildCheck(d, { node: deps.nodeName, serviceId: '', serviceName: '', serviceTags: [], defaultId: d.Name as string, defaultName: d.Name as string, standalone: true, scripts: scriptsAllowed(ctx, deps) });
    let svc: { ID: string; Service: string; Tags: string[] } = { ID: '', Service: '', Tags: [] };
    if (sid) {
      const s = v.node(deps.nodeName)?.services.get(sid);
      if (!s) throw new HttpError(404, `ServiceID "${sid}" does not exist`);
      svc = s;
    }
    const w = buildCheck(d, { node: deps.nodeName, serviceId: svc.ID, serviceName: svc.Service, serviceTags: svc.Tags, defaultId: d.Name as string, defaultName: d.Name as string, standalone: true, scripts: scriptsAllowed(ctx, deps) });
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
}
