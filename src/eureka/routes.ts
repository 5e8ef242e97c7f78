/**
 * @module Eureka's REST API on the HTTP port, under `/eureka/v2/apps` (Netflix) and `/eureka/apps`
 * (Spring Cloud), with or without a trailing slash: register, renew, cancel, status override,
 * metadata, and the registry reads (apps, app, instance, delta, vips, svips, instances).
 *
 * Writes go through the same catalog store as Consul's registrations (one atomic script per write)
 * and wait until the view shows them (read-your-writes); leases live in Redis (leases.ts).
 * Bad input gets Eureka's status (400 with a text body, 404 for unknown apps and instances) and
 * changes nothing.
 */
import { HttpError, type Ctx, type Reply, type Router } from '../http/server.ts';
import { afterWrite, requireRedis, type ApiDeps } from '../http/context.ts';
import type { Instance } from '../catalog/model.ts';
import { acceptsGzip, decodeBody, reply, wants } from './codec.ts';
import {
  EurekaInputError, isEureka, SOURCE, SOURCE_KEY, STATUSES, statusChecks, toRegistration, withMetadata, withOverride,
  type EurekaStatus,
} from './mapping.ts';
import type { EurekaRegistry } from './registry.ts';
import type { LeaseStore } from './leases.ts';

/** The base paths Eureka clients use. */
export const BASES = ['/eureka/v2', '/eureka'] as const;

export interface EurekaDeps { api: ApiDeps; registry: EurekaRegistry; leases: LeaseStore }

/** Removes an Eureka instance from the catalog (and its node, when it was Eureka's and is left empty). */
export async function removeInstance(api: ApiDeps, inst: Instance): Promise<void> {
  const node = inst.node.Node;
  const st = api.view.node(node);
  const lastOnOurNode = st?.node.Meta[SOURCE_KEY] === SOURCE && [...st.services.keys()].every(id => id === inst.service.ID);
  const res = lastOnOurNode ? await api.store.deregister(node, 'node') : await api.store.deregister(node, 'service', inst.service.ID);
  await afterWrite(api, res.index, res.found);
}

function parts(param: string): string[] {
  const p = param.split('/');
  while (p.length && p[p.length - 1] === '') p.pop();
  return p;
}

export function eurekaRoutes(r: Router, d: EurekaDeps): void {
  for (const base of BASES) {
    r.add(['GET', 'POST', 'PUT', 'DELETE'], `${base}/apps/`, ctx => appsRoute(ctx, d));
    r.add(['GET'], `${base}/vips/`, ctx => read(ctx, () => d.registry.byVip(parts(ctx.param)[0] ?? '', false)));
    r.add(['GET'], `${base}/svips/`, ctx => read(ctx, () => d.registry.byVip(parts(ctx.param)[0] ?? '', true)));
    r.add(['GET'], `${base}/instances/`, ctx => {
      const w = d.registry.instance(parts(ctx.param).join('/'));
      if (!w) throw new HttpError(404, 'Instance not found');
      return read(ctx, () => ({ instance: w }));
    });
  }
}

/** A read answered in the format and encoding the client asked for. */
function read(ctx: Ctx, v: () => unknown, cache?: Map<string, Buffer | string>, json?: () => string): Reply {
  return reply(v, wants(ctx.req.headers.accept), acceptsGzip(ctx.req.headers['accept-encoding'] as string | undefined), cache, 200, json);
}

async function appsRoute(ctx: Ctx, d: EurekaDeps): Promise<Reply> {
  const p = parts(ctx.param);
  const m = ctx.method;
  const reg = d.registry;
  try {
    if (p.length === 0) {
      if (m !== 'GET') throw new HttpError(405, `method ${m} not allowed`);
      return read(ctx, () => reg.all(), reg.rendered, () => reg.allJson());
    }
    const [app, id, sub] = p as [string, string | undefined, string | undefined];
    if (p.length === 1) {
      if (m === 'GET' && app === 'delta') return read(ctx, () => reg.delta(), reg.deltaRendered);
      if (m === 'GET') {
        const a = reg.app(app);
        if (!a) throw new HttpError(404, `Application ${app.toUpperCase()} not found`);
        return read(ctx, () => ({ application: a }));
      }
      if (m === 'POST') return await register(ctx, d, app);
    } else if (p.length === 2) {
      if (m === 'GET') {
        const w = reg.instance(id!);
        if (!w || w.app !== app.toUpperCase()) throw new HttpError(404, 'Instance not found');
        return read(ctx, () => ({ instance: w }));
      }
      if (m === 'PUT') return await renew(d, app, id!);
      if (m === 'DELETE') return await cancel(d, app, id!);
    } else if (p.length === 3 && sub === 'status' && (m === 'PUT' || m === 'DELETE')) {
      return await status(ctx, d, app, id!, m === 'PUT');
    } else if (p.length === 3 && sub === 'metadata' && m === 'PUT') {
      return await metadata(ctx, d, app, id!);
    }
    throw new HttpError(404, 'Not found');
  } catch (err) {
    if (err instanceof EurekaInputError) throw new HttpError(400, err.message);
    throw err;
  }
}

/** The Eureka-registered catalog instance `id` of `app`; 404 for unknown ones and for instances registered through Consul. */
function eurekaInstance(d: EurekaDeps, app: string, id: string): Instance {
  const inst = d.registry.catalogInstance(app, id);
  if (!inst || !isEureka(inst)) throw new HttpError(404, 'Instance not found');
  return inst;
}

async function register(ctx: Ctx, d: EurekaDeps, app: string): Promise<Reply> {
  const { api } = d;
  requireRedis(api);
  const body = decodeBody(await ctx.body(), ctx.req.headers['content-type']);
  // Validation needs the id and hostName before the catalog is consulted: a first pass with no catalog context.
  const probe = toRegistration(body, app, api.config.datacenter, Date.now(), undefined, true);
  const existing = d.registry.catalogInstance(probe.app, probe.id);
  const nodeSt = api.view.node(probe.node);
  const ours = !nodeSt || nodeSt.node.Meta[SOURCE_KEY] === SOURCE;
  // A Consul registration is never replaced through Eureka (same node and service ID).
  const clash = nodeSt?.services.get(probe.id);
  if (clash && clash.Meta[SOURCE_KEY] !== SOURCE) throw new HttpError(400, `instanceId ${probe.id} is registered on node ${probe.node} through Consul`);
  const reg = toRegistration(body, app, api.config.datacenter, Date.now(), existing && isEureka(existing) ? existing : undefined, ours);
  // The same instance re-registered from another host: it moves.
  if (existing && isEureka(existing) && existing.node.Node.toLowerCase() !== reg.node.toLowerCase()) await removeInstance(api, existing);
  const res = await api.store.register(reg.req);
  await afterWrite(api, res.index, res.changed);
  await d.leases.grant(reg.id, reg.node, reg.leaseMs);
  return { status: 204 };
}

async function renew(d: EurekaDeps, app: string, id: string): Promise<Reply> {
  requireRedis(d.api);
  eurekaInstance(d, app, id);
  if (!await d.leases.renew(id)) throw new HttpError(404, 'Instance not found');
  return { status: 200 };
}

async function cancel(d: EurekaDeps, app: string, id: string): Promise<Reply> {
  requireRedis(d.api);
  const inst = eurekaInstance(d, app, id);
  await removeInstance(d.api, inst);
  await d.leases.drop(id);
  return { status: 200 };
}

/** Writes a changed Eureka service record with the checks that carry its status. */
async function rewrite(d: EurekaDeps, inst: Instance, svc: ReturnType<typeof withOverride>): Promise<Reply> {
  const res = await d.api.store.register({ nodeName: inst.node.Node, node: null, services: [svc], checks: statusChecks(svc, inst.node.Node), replaceChecksFor: svc.ID });
  await afterWrite(d.api, res.index, res.changed);
  return { status: 200 };
}

async function status(ctx: Ctx, d: EurekaDeps, app: string, id: string, put: boolean): Promise<Reply> {
  requireRedis(d.api);
  const inst = eurekaInstance(d, app, id);
  const raw = ctx.query.get('value');
  const value = raw ? raw.toUpperCase() as EurekaStatus : null;
  if (put && !value) throw new HttpError(400, 'Missing status value');
  if (value && !STATUSES.includes(value)) throw new HttpError(400, `Invalid status value: ${raw}`);
  if (put) return rewrite(d, inst, withOverride(inst.service, value));
  // DELETE: the override goes; ?value= also sets the reported status (Eureka's default would be UNKNOWN, which forces a re-register).
  const svc = withOverride(inst.service, null);
  if (value) svc.Meta = { ...svc.Meta, eureka_status: value };
  return rewrite(d, inst, svc);
}

async function metadata(ctx: Ctx, d: EurekaDeps, app: string, id: string): Promise<Reply> {
  requireRedis(d.api);
  const inst = eurekaInstance(d, app, id);
  const kv: Record<string, string> = {};
  for (const [k, v] of ctx.query) if (k) kv[k] = v;
  if (!Object.keys(kv).length) return { status: 200 };
  return rewrite(d, inst, withMetadata(inst.service, kv));
}

