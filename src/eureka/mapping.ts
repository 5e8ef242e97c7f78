/**
 * @module Eureka instances ↔ catalog records: one catalog for both protocols.
 *
 * An Eureka instance is a catalog service instance: service = app lower-cased (a DNS label), ID =
 * instanceId, node = hostName, Address = ipAddr, Port = port.$, securePort as the tagged address
 * `secure`, vipAddress/secureVipAddress as tags, metadata as Meta (verbatim). What only Eureka
 * needs (app as sent, status, override, lease settings, URLs, dataCenterInfo) is kept in Meta under
 * `eureka_*` keys, with `external-source = eureka` as Consul's syncers mark foreign records.
 * Health: effective UP → check `eureka:<id>` passing, DOWN/STARTING/UNKNOWN → critical,
 * OUT_OF_SERVICE → Consul's service maintenance check (out of DNS). Any other catalog instance
 * is an Eureka instance too: passing → UP, otherwise DOWN.
 */
import type { CheckWrite, RegisterRequest } from '../store/catalog-store.ts';
import { aggregateStatus, DEFAULT_WEIGHTS, SERVICE_MAINT_PREFIX, type Instance, type ServiceRec } from '../catalog/model.ts';

export type EurekaStatus = 'UP' | 'DOWN' | 'STARTING' | 'OUT_OF_SERVICE' | 'UNKNOWN';
export const STATUSES: readonly EurekaStatus[] = ['UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE', 'UNKNOWN'];

/** An input error: Eureka answers 400 with this text and changes nothing. */
export class EurekaInputError extends Error {}

export const SOURCE_KEY = 'external-source';
export const SOURCE = 'eureka';
const K = { app: 'eureka_app', status: 'eureka_status', override: 'eureka_override', info: 'eureka_info' } as const;
const DEFAULT_DC = { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' };

/** What Meta keeps of an Eureka instance beyond the catalog's own fields. */
interface Info {
  hostName: string; countryId: number; dataCenterInfo: Record<string, unknown>; renewal: number; duration: number;
  homePageUrl?: string; statusPageUrl?: string; healthCheckUrl?: string; vipAddress?: string; secureVipAddress?: string;
  port: number; portEnabled: boolean; securePort: number; securePortEnabled: boolean; registered: number; dirty: number;
}

/** A registration, validated: what the catalog write and the lease need. */
export interface Registration { app: string; id: string; service: string; node: string; ipAddr: string; leaseMs: number; req: RegisterRequest }

/** The catalog service name of an app: lower-cased, every character outside [a-z0-9-] as `-` (a DNS label). */
export function serviceName(app: string): string {
  return app.toLowerCase().replace(/[^a-z0-9-]/g, '-');
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);
/** XML gives `{ $: '8080', '@enabled': 'true' }`, JSON `{ $: 8080, '@enabled': 'true' }` or a bare number. */
function portOf(v: unknown, dfltEnabled: boolean, what: string): { port: number; enabled: boolean } {
  if (v === undefined || v === null || v === '') return { port: 0, enabled: false };
  const o = typeof v === 'object' ? v as Record<string, unknown> : { $: v };
  const port = Number(o.$ ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new EurekaInputError(`Invalid ${what}: ${JSON.stringify(o.$)}`);
  const e = o['@enabled'];
  const enabled = e === undefined ? dfltEnabled : e === true || e === 'true';
  return { port, enabled };
}
function intOr(v: unknown, d: number): number {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : d;
}

/**
 * Validates an Eureka register body (`{instance: {...}}`, JSON or parsed XML) as Eureka's
 * ApplicationResource does and maps it to one catalog write. `pathApp` is the app of the URL;
 * `existing` the instance as the catalog holds it (its status override survives re-registration);
 * `nodeIsOurs` false when `hostName` names a node that is not Eureka's (the service joins it, the
 * node record is left alone).
 */
export function toRegistration(body: unknown, pathApp: string, dc: string, now: number, existing: Instance | undefined, nodeIsOurs: boolean): Registration {
  const root = body && typeof body === 'object' ? body as Record<string, unknown> : {};
  const i = (root.instance && typeof root.instance === 'object' ? root.instance : null) as Record<string, unknown> | null;
  if (!i) throw new EurekaInputError('Missing instance');
  const dci = i.dataCenterInfo && typeof i.dataCenterInfo === 'object' ? i.dataCenterInfo as Record<string, unknown> : null;
  const dcMeta = dci?.metadata && typeof dci.metadata === 'object' ? dci.metadata as Record<string, unknown> : {};
  const id = str(i.instanceId) || str(dcMeta['instance-id']) || str(i.hostName);
  if (!id) throw new EurekaInputError('Missing instanceId');
  const hostName = str(i.hostName);
  if (!hostName) throw new EurekaInputError('Missing hostname');
  const ipAddr = str(i.ipAddr);
  if (!ipAddr) throw new EurekaInputError('Missing ip address');
  const app = str(i.app)?.toUpperCase();
  if (!app) throw new EurekaInputError('Missing appName');
  if (app !== pathApp.toUpperCase()) throw new EurekaInputError(`Mismatched appName, expecting ${pathApp.toUpperCase()} but was ${app}`);
  if (!dci) throw new EurekaInputError('Missing dataCenterInfo');
  if (!str(dci.name)) throw new EurekaInputError('Missing dataCenterInfo Name');
  if (id.length > 512 || hostName.length > 255) throw new EurekaInputError('instanceId or hostName too long');
  const status = (str(i.status)?.toUpperCase() ?? 'UP') as EurekaStatus;
  if (!STATUSES.includes(status)) throw new EurekaInputError(`Invalid status: ${status}`);
  const p = portOf(i.port, true, 'port');
  const sp = portOf(i.securePort, false, 'securePort');
  const lease = (i.leaseInfo && typeof i.leaseInfo === 'object' ? i.leaseInfo : {}) as Record<string, unknown>;
  const renewal = intOr(lease.renewalIntervalInSecs, 30);
  const duration = intOr(lease.durationInSecs, 90);
  const meta: Record<string, string> = {};
  const md = i.metadata && typeof i.metadata === 'object' ? i.metadata as Record<string, unknown> : {};
  for (const [k, v] of Object.entries(md)) {
    if (k === '@class' || k.startsWith('eureka_') || k === SOURCE_KEY) continue;
    const s = str(v);
    if (s !== undefined) meta[k] = s;
  }
  const vip = str(i.vipAddress); const svip = str(i.secureVipAddress);
  const info: Info = {
    hostName, countryId: intOr(i.countryId, 1), dataCenterInfo: dci, renewal, duration,
    homePageUrl: str(i.homePageUrl), statusPageUrl: str(i.statusPageUrl), healthCheckUrl: str(i.healthCheckUrl), vipAddress: vip, secureVipAddress: svip,
    port: p.port, portEnabled: p.enabled, securePort: sp.port, securePortEnabled: sp.enabled, registered: now, dirty: intOr(i.lastDirtyTimestamp, now),
  };
  const override = existing?.service.Meta[K.override];
  Object.assign(meta, { [SOURCE_KEY]: SOURCE, [K.app]: app, [K.status]: status, [K.info]: JSON.stringify(info) });
  if (override) meta[K.override] = override;
  const tags = [...new Set([vip, svip].flatMap(v => (v ?? '').split(',')).map(s => s.trim()).filter(Boolean))];
  const svc: Omit<ServiceRec, 'CreateIndex' | 'ModifyIndex'> = {
    ID: id, Service: serviceName(app), Tags: tags, Address: ipAddr, Meta: meta,
    Port: p.enabled || !sp.enabled ? p.port : sp.port, Weights: { ...DEFAULT_WEIGHTS }, EnableTagOverride: false,
  };
  if (sp.enabled) svc.TaggedAddresses = { secure: { Address: ipAddr, Port: sp.port } };
  const node = nodeIsOurs ? { ID: '', Node: hostName, Address: ipAddr, Datacenter: dc, TaggedAddresses: {}, Meta: { [SOURCE_KEY]: SOURCE } } : null;
  return { app, id, service: svc.Service, node: hostName, ipAddr, leaseMs: duration * 1000, req: { nodeName: hostName, node, services: [svc], checks: statusChecks(svc, hostName), replaceChecksFor: id } };
}

/** Eureka's effective status from what the instance reports and the override (first match wins). */
export function effective(reported: EurekaStatus, override: EurekaStatus | undefined): EurekaStatus {
  if (reported === 'DOWN' || reported === 'STARTING') return reported;
  if (override && override !== 'UNKNOWN') return override;
  return reported;
}

/** The checks that carry an Eureka instance's effective status into the catalog (DNS, Consul health). */
export function statusChecks(svc: Pick<ServiceRec, 'ID' | 'Service' | 'Tags' | 'Meta'>, node: string): CheckWrite[] {
  const st = effective(svc.Meta[K.status] as EurekaStatus, svc.Meta[K.override] as EurekaStatus | undefined);
  const base = { Node: node, ServiceID: svc.ID, ServiceName: svc.Service, ServiceTags: svc.Tags, Type: '', Interval: '', Timeout: '', ExposedPort: 0, Definition: {} };
  const out: CheckWrite[] = [{
    check: { ...base, CheckID: `eureka:${svc.ID}`, Name: 'Eureka status', Notes: 'The instance\'s Eureka status: UP passes' },
    status: st === 'UP' || st === 'OUT_OF_SERVICE' ? 'passing' : 'critical', output: st, keep: false, ttlMs: 0,
  }];
  if (st === 'OUT_OF_SERVICE') {
    out.push({ check: { ...base, CheckID: SERVICE_MAINT_PREFIX + svc.ID, Name: 'Service Maintenance Mode', Notes: 'Eureka status OUT_OF_SERVICE' }, status: 'critical', output: '', keep: false, ttlMs: 0 });
  }
  return out;
}

/** Whether a catalog instance was registered through Eureka. */
export function isEureka(inst: Instance): boolean {
  return inst.service.Meta[SOURCE_KEY] === SOURCE && K.info in inst.service.Meta;
}

/** The Eureka app an instance belongs to (as upper-case as Eureka keeps it). */
export function appOf(inst: Instance): string {
  return isEureka(inst) ? inst.service.Meta[K.app]! : inst.service.Service.toUpperCase();
}

/** The Eureka instanceId of a catalog instance: its own for Eureka's, `<node>:<service ID>` for others. */
export function instanceIdOf(inst: Instance): string {
  return isEureka(inst) ? inst.service.ID : `${inst.node.Node}:${inst.service.ID}`;
}

/** A copy of an Eureka instance's service record with its status override set (or removed with null). */
export function withOverride(svc: ServiceRec, override: EurekaStatus | null): Omit<ServiceRec, 'CreateIndex' | 'ModifyIndex'> {
  const { CreateIndex, ModifyIndex, ...rest } = svc; void CreateIndex; void ModifyIndex;
  const meta = { ...rest.Meta };
  if (override) meta[K.override] = override; else delete meta[K.override];
  return { ...rest, Meta: meta };
}

/** A copy with user metadata keys merged (Eureka's PUT .../metadata). */
export function withMetadata(svc: ServiceRec, kv: Record<string, string>): Omit<ServiceRec, 'CreateIndex' | 'ModifyIndex'> {
  const { CreateIndex, ModifyIndex, ...rest } = svc; void CreateIndex; void ModifyIndex;
  const meta = { ...rest.Meta };
  for (const [k, v] of Object.entries(kv)) if (!k.startsWith('eureka_') && k !== SOURCE_KEY) meta[k] = v;
  return { ...rest, Meta: meta };
}

/** Eureka's wire instance (JSON shape; XML is built from it). */
export type WireInstance = Record<string, unknown>;

/** The status Eureka clients see for a catalog instance. */
export function statusOf(inst: Instance): EurekaStatus {
  const own = (id: string) => id === `eureka:${inst.service.ID}` || id === SERVICE_MAINT_PREFIX + inst.service.ID;
  const others = aggregateStatus(inst.checks.filter(c => !isEureka(inst) || !own(c.CheckID)));
  if (!isEureka(inst)) return others === 'passing' ? 'UP' : 'DOWN';
  const st = effective(inst.service.Meta[K.status] as EurekaStatus, inst.service.Meta[K.override] as EurekaStatus | undefined);
  return st === 'UP' && others !== 'passing' ? 'DOWN' : st;
}

/** A catalog instance as Eureka's JSON instance (always `port: {$, @enabled}`, string timestamps). */
export function toWire(inst: Instance): WireInstance {
  const s = inst.service;
  const eureka = isEureka(inst);
  let info: Info | null = null;
  if (eureka) { try { info = JSON.parse(s.Meta[K.info]!) as Info; } catch { info = null; } }
  const md: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.Meta)) if (!k.startsWith('eureka_') && k !== SOURCE_KEY) md[k] = v;
  const ip = s.Address || inst.node.Address;
  const ts = info?.registered ?? 0;
  const secure = s.TaggedAddresses?.secure;
  return {
    instanceId: instanceIdOf(inst), hostName: info?.hostName ?? inst.node.Node, app: appOf(inst), ipAddr: ip,
    status: statusOf(inst), overriddenStatus: (eureka && s.Meta[K.override]) || 'UNKNOWN',
    port: { $: info ? info.port : s.Port, '@enabled': String(info ? info.portEnabled : true) },
    securePort: { $: info ? info.securePort : secure?.Port ?? 443, '@enabled': String(info ? info.securePortEnabled : !!secure) },
    countryId: info?.countryId ?? 1,
    dataCenterInfo: info?.dataCenterInfo ?? DEFAULT_DC,
    leaseInfo: { renewalIntervalInSecs: info?.renewal ?? 30, durationInSecs: info?.duration ?? 90, registrationTimestamp: ts, lastRenewalTimestamp: ts, evictionTimestamp: 0, serviceUpTimestamp: ts },
    metadata: Object.keys(md).length ? md : { '@class': 'java.util.Collections$EmptyMap' },
    ...(info?.homePageUrl !== undefined ? { homePageUrl: info.homePageUrl } : {}),
    ...(info?.statusPageUrl !== undefined ? { statusPageUrl: info.statusPageUrl } : {}),
    ...(info?.healthCheckUrl !== undefined ? { healthCheckUrl: info.healthCheckUrl } : {}),
    vipAddress: info ? info.vipAddress ?? '' : s.Service, secureVipAddress: info ? info.secureVipAddress ?? '' : s.Service,
    isCoordinatingDiscoveryServer: 'false', lastUpdatedTimestamp: String(ts), lastDirtyTimestamp: String(info?.dirty ?? ts),
  };
}

/** Eureka's apps__hashcode: `STATUS_count_` for each status present, sorted by status name; "" when empty. */
export function hashcode(statuses: Iterable<string>): string {
  const n = new Map<string, number>();
  for (const s of statuses) n.set(s, (n.get(s) ?? 0) + 1);
  return [...n.keys()].sort().map(s => `${s}_${n.get(s)}_`).join('');
}
