/** @module Every HTTP route of the agent, in one list. */
import type { Handler, Router, RouteOpts } from '../server.ts';
import { checkDc, type ApiDeps } from '../context.ts';
import { agentRoutes } from './agent.ts';
import { selfRoutes } from './self.ts';
import { metricsRoutes } from './metrics.ts';
import { monitorRoutes } from './monitor.ts';
import { catalogRoutes } from './catalog.ts';
import { healthRoutes } from './health.ts';
import { statusRoutes } from './status.ts';
import { checkRoutes } from './checks.ts';
import { maintenanceRoutes } from './maintenance.ts';

import { kvRoutes } from './kv.ts';
import { sessionRoutes } from './session.ts';
import { eventRoutes } from './event.ts';
import { catalogWriteRoutes } from './catalog-write.ts';
import { memberRoutes } from './members.ts';
import { agentHealthRoutes } from './agent-health.ts';
import { connectStubRoutes } from './connect-stub.ts';
import { txnRoutes } from './txn.ts';
import { coordinateRoutes } from './coordinate.ts';
import { queryRoutes } from './query.ts';
import { snapshotRoutes } from './snapshot.ts';
import { dcForwarder } from '../dc-forward.ts';
import { preparedQueryRoutes } from './prepared-query.ts';
import type { QueryCatalog } from '../query-exec.ts';
import { uiInternalRoutes } from './ui-internal.ts';
import { uiRoutes } from './ui.ts';
import { agentHostRoutes } from './agent-host.ts';
import { aclRoutes } from './acl.ts';

/**
 * The router for endpoints that take `?dc`: every route added through it first answers 500 `No path
 * to datacenter` for a datacenter but ours (Consul's rule on every server-forwarded endpoint). The
 * agent's own endpoints (/v1/agent/*) and the datacenter lists ignore `dc`, as Consul's do.
 */
function takingDc(r: Router, deps: ApiDeps): Router {
  const w = {
    add(methods: string[], pattern: string, handler: Handler, opts?: RouteOpts) {
      // The datacenter lists are answered by any server, whatever `dc` says.
      if (pattern.endsWith('/datacenters')) r.add(methods, pattern, handler, opts);
      else r.add(methods, pattern, ctx => { checkDc(ctx, deps); return handler(ctx); }, opts);
      return w;
    },
  };
  return w as unknown as Router;
}

/** Registers every route; returns the parts the agent runs beside them (the prepared queries DNS reads). */
export function registerRoutes(r: Router, deps: ApiDeps): { queries: QueryCatalog } {
  // `?dc=<another datacenter>` never reaches a route: forwarded there, or 500 No path (src/http/dc-forward.ts).
  r.intercept = dcForwarder(deps);
  const dc = takingDc(r, deps);
  selfRoutes(r, deps);
  metricsRoutes(r, deps);
  monitorRoutes(r);
  agentRoutes(r, deps);
  catalogRoutes(dc, deps);
  healthRoutes(dc, deps);
  statusRoutes(dc, deps);
  kvRoutes(dc, deps);
  sessionRoutes(dc, deps);
  eventRoutes(r, deps);
  catalogWriteRoutes(dc, deps);
  memberRoutes(r, deps);
  agentHealthRoutes(r, deps);
  connectStubRoutes(dc, deps);
  txnRoutes(dc, deps);
  coordinateRoutes(dc, deps);
  checkRoutes(r, deps);
  maintenanceRoutes(r, deps);
  queryRoutes(r, deps);
  snapshotRoutes(r, deps);
  uiInternalRoutes(r, deps);
  uiRoutes(r);
  agentHostRoutes(r, deps);
  aclRoutes(r, deps);
  return { queries: preparedQueryRoutes(r, deps) };
}
