/**
 * @module Alias checks (Consul's CheckAlias): mirror the aggregate health of another service
 * (AliasService, a service ID, on AliasNode or this node) or of a whole node (AliasNode only).
 * Evaluated from the in-memory view on every view change; no polling.
 */
import type { CheckRec, HealthStatus, NodeState } from '../catalog/model.ts';
import type { RunResult } from './types.ts';

/** The status and output an alias check should have, given the aliased node's state. */
export function aliasResult(check: CheckRec, target: NodeState | undefined): RunResult {
  const svcId = check.Definition.AliasService ?? '';
  let health: HealthStatus = 'passing';
  let msg = 'No checks found.';
  let serviceFound = false;
  const checks = target ? [...target.checks.values()].sort((a, b) => (a.CheckID < b.CheckID ? -1 : 1)) : [];
  for (const c of checks) {
    if (c.CheckID === check.CheckID && c.Node.toLowerCase() === check.Node.toLowerCase()) continue;
    const serviceMatch = svcId !== '' && c.ServiceID === svcId;
    if (c.ServiceID !== '' && !serviceMatch) continue;
    if (serviceMatch) serviceFound = true;
    if (c.Status === 'critical' || c.Status === 'warning') {
      health = c.Status;
      msg = `Aliased check "${c.Name}" failing: ${c.Output}`;
      if (c.Status === 'critical') break;
    } else if (health === 'passing') msg = 'All checks passing.';
  }
  if (svcId && !serviceFound && !target?.services.has(svcId)) return { status: 'critical', output: 'Service not found' };
  if (!target) return { status: 'critical', output: 'Node not found' };
  return { status: health, output: msg };
}
