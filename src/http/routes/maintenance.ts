/**
 * @module Maintenance mode, as Consul: PUT /v1/agent/maintenance and
 * /v1/agent/service/maintenance/:id add (or remove) a critical check `_node_maintenance`
 * ("Node Maintenance Mode") or `_service_maintenance:<id>` ("Service Maintenance Mode") with the
 * reason in Notes. A critical check takes the node's services (or the one service) out of DNS.
 */
import { HttpError, type Ctx, type Router } from '../server.ts';
import { afterWrite, agentRegister, parseBool, requireRedis, type ApiDeps } from '../context.ts';
import { NODE_MAINT_CHECK, SERVICE_MAINT_PREFIX, type ServiceRec } from '../../catalog/model.ts';

export const DEFAULT_NODE_MAINT_REASON = 'Maintenance mode is enabled for this node, but no reason was provided. This is a default message.';
export const DEFAULT_SERVICE_MAINT_REASON = 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.';

/** Consul's `enable` parsing: missing → 400 `Missing value for enable`; not a Go bool → 400 `Invalid value for enable: "x"`. */
function enableParam(ctx: Ctx): boolean {
  if (!ctx.has('enable')) throw new HttpError(400, 'Missing value for enable');
  const raw = ctx.query.get('enable')!;
  const b = parseBool(raw);
  if (b === null) throw new HttpError(400, `Invalid value for enable: ${JSON.stringify(raw)}`);
  return b;
}

async function setMaintenance(deps: ApiDeps, checkId: string, enable: boolean, reason: string, svc: ServiceRec | null): Promise<void> {
  const st = deps.view.node(deps.nodeName);
  if (enable) {
    // Already in maintenance: nothing changes (Consul keeps the first reason).
    if (st?.checks.has(checkId)) return;
    await agentRegister(deps, {
      nodeName: deps.nodeName, node: null, services: [],
      checks: [{
        check: {
          Node: deps.nodeName, CheckID: checkId, Name: svc ? 'Service Maintenance Mode' : 'Node Maintenance Mode', Notes: reason,
          ServiceID: svc?.ID ?? '', ServiceName: svc?.Service ?? '', ServiceTags: svc?.Tags ?? [], Type: 'maintenance', Interval: '', Timeout: '', ExposedPort: 0, Definition: {},
        },
        status: 'critical', output: '', keep: false, ttlMs: 0,
      }],
    });
  } else {
    deps.hooks.local?.forget('check', checkId);
    const res = await deps.store.deregister(deps.nodeName, 'check', checkId);
    await afterWrite(deps, res.index, res.found);
  }
}

/** Registers the node and service maintenance endpoints. */
export function maintenanceRoutes(r: Router, deps: ApiDeps): void {
  r.add(['PUT'], '/v1/agent/maintenance', async ctx => {
    const enable = enableParam(ctx);
    requireRedis(deps);
    await setMaintenance(deps, NODE_MAINT_CHECK, enable, ctx.query.get('reason') || DEFAULT_NODE_MAINT_REASON, null);
    return {};
  });

  r.add(['PUT'], '/v1/agent/service/maintenance/', async ctx => {
    const id = ctx.param;
    if (!id) throw new HttpError(400, 'Missing service ID');
    const enable = enableParam(ctx);
    requireRedis(deps);
    const svc = deps.view.node(deps.nodeName)?.services.get(id);
    if (!svc) throw new HttpError(404, `No service registered with ID ${JSON.stringify(id)}`);
    await setMaintenance(deps, `${SERVICE_MAINT_PREFIX}${id}`, enable, ctx.query.get('reason') || DEFAULT_SERVICE_MAINT_REASON, svc);
    return {};
  });
}
