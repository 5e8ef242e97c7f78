/** @module Every HTTP route of the agent, in one list. */
import type { Router } from '../server.ts';
import type { ApiDeps } from '../context.ts';
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
import { uiInternalRoutes } from './ui-internal.ts';
import { uiRoutes } from './ui.ts';

export function registerRoutes(r: Router, deps: ApiDeps): void {
  selfRoutes(r, deps);
  metricsRoutes(r, deps);
  monitorRoutes(r);
  agentRoutes(r, deps);
  catalogRoutes(r, deps);
  healthRoutes(r, deps);
  statusRoutes(r, deps);
  kvRoutes(r, deps);
  sessionRoutes(r, deps);
  eventRoutes(r, deps);
  catalogWriteRoutes(r, deps);
  memberRoutes(r, deps);
  agentHealthRoutes(r, deps);
  connectStubRoutes(r, deps);
  txnRoutes(r, deps);
  coordinateRoutes(r, deps);
  checkRoutes(r, deps);
  maintenanceRoutes(r, deps);
  queryRoutes(r, deps);
  snapshotRoutes(r, deps);
  uiInternalRoutes(r, deps);
  uiRoutes(r);
}
