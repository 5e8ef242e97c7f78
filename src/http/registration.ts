/**
 * @module Turning Consul service and check definitions into catalog writes, with Consul's
 * defaults (IDs, names, initial status) and validation messages.
 */
import type { CheckDefinition, HealthStatus, ServiceRec } from '../catalog/model.ts';
import type { CheckWrite } from '../store/catalog-store.ts';
import { HttpError } from './server.ts';
import { decodeLocality, decodeTaggedAddresses, validateMeta } from './decode.ts';
import { formatDurationNs, parseDurationNs } from '../util/duration.ts';
import { logger } from '../log.ts';
import { DEFAULT_WEIGHTS } from '../catalog/model.ts';

const log = logger('agent');

const DNS_SAFE = /^[a-zA-Z0-9-]+$/;

function invalid(msg: string): never {
  throw new HttpError(400, `Invalid check: ${msg}`);
}

function ns(d: unknown): number {
  if (typeof d !== 'string' || d === '') return 0;
  return parseDurationNs(d);
}

/** Normalises a duration to Go's String() form ("10s", "1m0s"), or "" when unset. */
function dur(d: unknown): string {
  const n = ns(d);
  return n > 0 ? formatDurationNs(n) : '';
}

export interface CheckContext {
  node: string;
  serviceId: string;
  serviceName: string;
  serviceTags: string[];
  /** The ID used when the definition has none (service:<id>[:n], or the Name for node checks). */
  defaultId: string;
  defaultName: string;
  /** From /v1/agent/check/register: Interval and Timeout show "0s" when unset, not "". */
  standalone: boolean;
  /** Script checks may be registered here (enable_script_checks, or enable_local_script_checks from a local client). */
  scripts?: boolean;
}

/** The check type Consul derives from the fields a definition sets. */
export function checkType(d: Record<string, unknown>): string {
  if (d.ScriptArgs || d.Args) return 'script';
  if (d.HTTP) return 'http';
  if (d.TCP) return 'tcp';
  if (d.UDP) return 'udp';
  if (d.GRPC) return 'grpc';
  if (d.H2PING) return 'h2ping';
  if (d.DockerContainerID) return 'docker';
  if (d.OSService) return 'os_service';
  if (d.AliasService || d.AliasNode) return 'alias';
  if (d.TTL) return 'ttl';
  return '';
}

/** Builds the catalog write for one check definition; throws 400 `Invalid check: ...` as Consul. */
export function buildCheck(d: Record<string, unknown>, c: CheckContext): CheckWrite {
  const type = checkType(d);
  const interval = ns(d.Interval);
  const ttl = ns(d.TTL);
  const intervalCheck = ['script', 'http', 'tcp', 'udp', 'grpc', 'h2ping', 'docker', 'os_service'].includes(type);
  if (interval > 0 && ttl > 0) invalid('Interval and TTL cannot both be specified');
  if (intervalCheck && interval <= 0) invalid('Interval must be > 0 for Script, HTTP, H2PING, TCP or UDP checks');
  if (type === 'alias' && ttl > 0) invalid('TTL must be not be set for Alias checks');
  if (!intervalCheck && type !== 'alias' && ttl <= 0) invalid('TTL must be > 0 for TTL checks');
  if (type === 'script' && !c.scripts) invalid('Scripts are disabled on this agent; to enable, configure \'enable_script_checks\' or \'enable_local_script_checks\' to true');
  if (type === 'docker' || type === 'os_service' || type === 'grpc' || type === 'h2ping') invalid(`${type} checks are not supported by Roster`);
  let status: HealthStatus = 'critical';
  if (d.Status !== undefined && d.Status !== '') {
    if (!['passing', 'warning', 'critical'].includes(d.Status as string)) throw new HttpError(400, `Invalid check status: '${d.Status as string}'`);
    status = d.Status as HealthStatus;
  }
  const def: CheckDefinition = {};
  for (const k of ['HTTP', 'Method', 'Body', 'TLSServerName', 'TCP', 'UDP', 'AliasNode', 'AliasService'] as const) if (d[k]) def[k] = d[k] as string;
  if (d.Header) def.Header = d.Header as Record<string, string[]>;
  if (d.TLSSkipVerify) def.TLSSkipVerify = true;
  if (type === 'script') {
    def.Args = [...((d.Args ?? d.ScriptArgs) as string[])];
    if (def.Args.length === 0) invalid('Args must not be empty for Script checks');
  }
  if (ttl > 0) def.TTL = formatDurationNs(ttl);
  // Consul's minimum check interval is 1s.
  if (interval > 0) def.Interval = formatDurationNs(Math.max(interval, 1e9));
  if (ns(d.Timeout) > 0) def.Timeout = dur(d.Timeout);
  if (ns(d.DeregisterCriticalServiceAfter) > 0) def.DeregisterCriticalServiceAfter = dur(d.DeregisterCriticalServiceAfter);
  for (const k of ['SuccessBeforePassing', 'FailuresBeforeWarning', 'FailuresBeforeCritical'] as const) if (typeof d[k] === 'number' && (d[k] as number) > 0) def[k] = d[k] as number;
  const empty = c.standalone ? '0s' : '';
  const id = (d.CheckID as string) || (d.ID as string) || c.defaultId;
  return {
    check: {
      Node: c.node, CheckID: id, Name: (d.Name as string) || c.defaultName, Notes: (d.Notes as string) ?? '', ServiceID: c.serviceId,
      ServiceName: c.serviceName, ServiceTags: c.serviceTags, Type: type, Interval: def.Interval ?? empty,
      Timeout: def.Timeout ?? (type === 'http' || type === 'tcp' || type === 'udp' || type === 'script' ? '' : empty), ExposedPort: 0, Definition: def,
    },
    status,
    output: '',
    keep: d.Status === undefined || d.Status === '',
    ttlMs: ttl / 1e6,
  };
}

/** A service record from a decoded ServiceDefinition, with Consul's defaults. */
export function buildService(d: Record<string, unknown>): Omit<ServiceRec, 'CreateIndex' | 'ModifyIndex'> {
  const name = d.Name as string | undefined;
  if (!name) throw new HttpError(400, 'Missing service name');
  const port = (d.Port as number | undefined) ?? 0;
  if (port < 0 || port > 65535) throw new HttpError(400, `Invalid service port ${port}: must be between 0 and 65535`);
  if (!DNS_SAFE.test(name)) {
    log.warn('Service name will not be discoverable via DNS due to invalid characters. Valid characters include all alpha-numerics and dashes.', { service: name });
  }
  const tags = (d.Tags as string[] | undefined) ?? [];
  for (const t of tags) if (!DNS_SAFE.test(t)) log.debug('Service tag will not be discoverable via DNS due to invalid characters.', { service: name, tag: t });
  const w = d.Weights as { Passing?: number; Warning?: number } | undefined;
  const weights = w ? { Passing: w.Passing ?? 1, Warning: w.Warning ?? 1 } : { ...DEFAULT_WEIGHTS };
  // Consul's ValidateWeights, with the agent endpoint's prefix.
  if (weights.Passing < 1) throw new HttpError(400, 'Invalid Weights: Passing must be greater than 0');
  if (weights.Warning < 0) throw new HttpError(400, 'Invalid Weights: Warning must be greater or equal than 0');
  if (weights.Passing > 65535 || weights.Warning > 65535) throw new HttpError(400, 'Invalid Weights: DNS Weight must be between 0 and 65535');
  validateMeta(d.Meta as Record<string, string> | undefined, 'Invalid Service Meta');
  const rec: Omit<ServiceRec, 'CreateIndex' | 'ModifyIndex'> = {
    ID: (d.ID as string) || name, Service: name, Tags: tags, Address: (d.Address as string) ?? '', Meta: (d.Meta as Record<string, string>) ?? {},
    Port: port, Weights: weights, EnableTagOverride: (d.EnableTagOverride as boolean) ?? false,
  };
  return withServiceExtras(rec, d);
}

type NewService = Omit<ServiceRec, 'CreateIndex' | 'ModifyIndex'>;

/** The optional fields every register path stores the same way: Kind, TaggedAddresses, SocketPath, Locality. */
export function withServiceExtras(rec: NewService, d: Record<string, unknown>): NewService {
  if (d.Kind) rec.Kind = d.Kind as string;
  const ta = decodeTaggedAddresses(d.TaggedAddresses);
  if (Object.keys(ta).length) rec.TaggedAddresses = ta;
  if (d.SocketPath) rec.SocketPath = d.SocketPath as string;
  const loc = decodeLocality(d.Locality);
  if (loc) rec.Locality = loc;
  return rec;
}

/**
 * A service as the catalog API takes it (/v1/catalog/register, txn Service operations): fields as given,
 * missing weights default to Consul's (unlike the agent endpoint, nothing else is validated here).
 */
export function catalogServiceRecord(d: Record<string, unknown>, id: string, name: string): NewService {
  const w = d.Weights as { Passing?: number; Warning?: number } | undefined;
  return withServiceExtras({
    ID: id, Service: name, Tags: (d.Tags as string[]) ?? [], Address: (d.Address as string) ?? '', Meta: (d.Meta as Record<string, string>) ?? {},
    Port: (d.Port as number) ?? 0, Weights: { Passing: w?.Passing ?? DEFAULT_WEIGHTS.Passing, Warning: w?.Warning ?? DEFAULT_WEIGHTS.Warning }, EnableTagOverride: (d.EnableTagOverride as boolean) ?? false,
  }, d);
}

/** The checks of a ServiceDefinition (Check plus Checks), with Consul's default IDs and names. */
export function buildServiceChecks(d: Record<string, unknown>, svc: { ID: string; Service: string; Tags: string[] }, node: string, scripts = false): CheckWrite[] {
  const defs: Record<string, unknown>[] = [];
  if (d.Check && Object.keys(d.Check as object).length) defs.push(d.Check as Record<string, unknown>);
  for (const c of (d.Checks as Record<string, unknown>[] | undefined) ?? []) defs.push(c);
  return defs.map((c, i) => buildCheck(c, {
    node, serviceId: svc.ID, serviceName: svc.Service, serviceTags: svc.Tags,
    defaultId: defs.length > 1 ? `service:${svc.ID}:${i + 1}` : `service:${svc.ID}`, defaultName: `Service '${svc.Service}' check`, standalone: false, scripts,
  }));
}
