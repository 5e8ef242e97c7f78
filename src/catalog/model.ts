/**
 * @module The catalog's records, in Consul's own field names and order.
 *
 * These are the stored shapes: what Redis holds (as JSON) and what the in-memory view indexes.
 * Wire shapes for the HTTP API are derived from them in src/consul/convert.ts.
 */

export type HealthStatus = 'passing' | 'warning' | 'critical';

/** A node (machine) of the catalog. Node names are unique per datacenter, case-insensitively. */
export interface NodeRec {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Weights used in SRV answers: Passing when the instance is passing, Warning when warning. */
export interface Weights { Passing: number; Warning: number }

/** A service instance registered on a node. ID is unique per node. */
export interface ServiceRec {
  Kind?: string;
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  TaggedAddresses?: Record<string, { Address: string; Port: number }>;
  Meta: Record<string, string>;
  Port: number;
  /** A Unix socket the service listens on instead of Address:Port. */
  SocketPath?: string;
  /** Where the instance runs (Consul 1.17's Locality). */
  Locality?: { Region?: string; Zone?: string };
  Weights: Weights;
  EnableTagOverride: boolean;
  CreateIndex: number;
  ModifyIndex: number;
}

/** What a check runs; kept so that any worker can run the check. */
export interface CheckDefinition {
  HTTP?: string;
  Header?: Record<string, string[]>;
  Method?: string;
  Body?: string;
  TLSServerName?: string;
  TLSSkipVerify?: boolean;
  TCP?: string;
  UDP?: string;
  TTL?: string;
  AliasNode?: string;
  AliasService?: string;
  /** A script check's command line (Consul's Args / ScriptArgs). */
  Args?: string[];
  Interval?: string;
  Timeout?: string;
  DeregisterCriticalServiceAfter?: string;
  SuccessBeforePassing?: number;
  FailuresBeforeWarning?: number;
  FailuresBeforeCritical?: number;
}

/** A health check, on a node (ServiceID "") or on one service instance. CheckID is unique per node. */
export interface CheckRec {
  Node: string;
  CheckID: string;
  Name: string;
  Status: HealthStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Interval: string;
  Timeout: string;
  ExposedPort: number;
  Definition: CheckDefinition;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Everything the catalog holds about one node: the unit of change notifications and view updates. */
export interface NodeState {
  node: NodeRec;
  services: Map<string, ServiceRec>;
  checks: Map<string, CheckRec>;
}

/** One instance as DNS and the health endpoints see it: the service, its node, its checks plus the node's checks. */
export interface Instance {
  node: NodeRec;
  service: ServiceRec;
  checks: CheckRec[];
}

/** Consul's AggregatedStatus without maintenance: critical beats warning beats passing; no checks is passing. */
export function aggregateStatus(checks: readonly CheckRec[]): HealthStatus {
  let s: HealthStatus = 'passing';
  for (const c of checks) {
    if (c.Status === 'critical') return 'critical';
    if (c.Status === 'warning') s = 'warning';
  }
  return s;
}

/**
 * The health filter DNS and `?passing` use. Critical is always out; warning is out only when
 * onlyPassing (Consul's CheckServiceNodes.Filter).
 */
export function isVisible(inst: Instance, onlyPassing: boolean): boolean {
  for (const c of inst.checks) {
    if (c.Status === 'critical') return false;
    if (onlyPassing && c.Status !== 'passing') return false;
  }
  return true;
}

/** Default weights, as Consul fills them in at registration. */
export const DEFAULT_WEIGHTS: Weights = Object.freeze({ Passing: 1, Warning: 1 });

/** The ID of the node maintenance check and the prefix of service maintenance checks. */
export const NODE_MAINT_CHECK = '_node_maintenance';
export const SERVICE_MAINT_PREFIX = '_service_maintenance:';
