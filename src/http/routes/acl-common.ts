/** @module Shared by the ACL routes (src/http/routes/acl.ts, acl-policy.ts): body decoding, links, identities, permission declarations. */
import { createHash } from 'node:crypto';
import { HttpError, type Ctx } from '../server.ts';
import type { AclDeps, ApiDeps } from '../context.ts';
import { requireScalar, type RouteAcl } from '../acl.ts';
import type { Link, NodeIdentity, ServiceIdentity } from '../../store/acl-store.ts';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const RESERVED = '00000000-0000-0000-0000-0000000000';
const IDENT = /^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$/;
export const READ: RouteAcl = { check: ctx => requireScalar(ctx, 'acl', 'read') };
export const WRITE: RouteAcl = { check: ctx => requireScalar(ctx, 'acl', 'write') };
export const RW: RouteAcl = { check: { GET: ctx => requireScalar(ctx, 'acl', 'read'), '*': ctx => requireScalar(ctx, 'acl', 'write') } };

/** The ACL part of deps, or 401 `ACL support disabled`. */
export function aclOn(deps: ApiDeps): AclDeps {
  if (!deps.acl) throw new HttpError(401, 'ACL support disabled');
  return deps.acl;
}

/** A JSON body decoded with Consul's `<What> decoding failed: …` on bad input. */
export async function decodeBody(ctx: Ctx, what: string): Promise<Record<string, unknown>> {
  const b = await ctx.body();
  if (b.length === 0) return {};
  let v: unknown;
  try { v = JSON.parse(b.toString('utf8')); } catch (err) { throw new HttpError(400, `${what} decoding failed: ${(err as Error).message}`); }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, `${what} decoding failed: json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into Go value`);
  // Consul's decoder matches field names case-insensitively.
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[canon(k)] = x;
  return out;
}

const FIELDS = ['AccessorID', 'SecretID', 'Description', 'Policies', 'Roles', 'ServiceIdentities', 'NodeIdentities', 'Local', 'ExpirationTime', 'ExpirationTTL', 'ID', 'Name', 'Rules', 'Datacenters', 'Token', 'BootstrapSecret', 'AuthMethod', 'CreateIndex', 'ModifyIndex', 'Hash', 'CreateTime'];
const canon = (k: string) => FIELDS.find(f => f.toLowerCase() === k.toLowerCase()) ?? k;

export const contentHash = (x: unknown): string => createHash('sha256').update(JSON.stringify(x)).digest('base64');
export const time = () => new Date().toISOString();

/** Policy/role links of a write body: each by ID or Name; unknown ones are Consul's 500s. */
export function resolveLinks(acl: AclDeps, v: unknown, kind: 'policy' | 'role'): Link[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new HttpError(400, `${kind === 'policy' ? 'Token' : 'Role'} decoding failed: ${kind === 'policy' ? 'Policies' : 'Roles'} must be a list`);
  const out: Link[] = [];
  for (const l of v as Record<string, unknown>[]) {
    if (typeof l !== 'object' || l === null) throw new HttpError(400, `Request decoding failed: ${kind === 'policy' ? 'Policies' : 'Roles'} must be a list of {ID|Name}`);
    const id = (l?.ID ?? l?.id) as string | undefined;
    const name = (l?.Name ?? l?.name) as string | undefined;
    let found: string | undefined;
    if (id) {
      found = kind === 'policy' ? acl.resolver.policies.get(id)?.rec.ID : acl.resolver.roles.get(id)?.ID;
      if (!found) throw new HttpError(500, `No such ACL ${kind} with ID "${id}"`);
    } else if (name) {
      found = kind === 'policy' ? acl.resolver.policyByName(name)?.ID : acl.resolver.roleByName(name)?.ID;
      if (!found) throw new HttpError(500, `No such ACL ${kind} with name "${name}"`);
    } else continue;
    if (!out.some(x => x.ID === found)) out.push({ ID: found });
  }
  return out;
}

export function identities(b: Record<string, unknown>): { s: ServiceIdentity[]; n: NodeIdentity[] } {
  for (const f of ['ServiceIdentities', 'NodeIdentities'] as const) {
    const v = b[f];
    if (v !== undefined && v !== null && (!Array.isArray(v) || v.some(x => typeof x !== 'object' || x === null))) throw new HttpError(400, `Request decoding failed: ${f} must be a list of objects`);
  }
  for (const f of ['Description', 'Name', 'Rules'] as const) if (b[f] !== undefined && b[f] !== null && typeof b[f] !== 'string') throw new HttpError(400, `Request decoding failed: ${f} must be a string`);
  const s = ((b.ServiceIdentities as ServiceIdentity[] | undefined) ?? []).map(x => ({ ServiceName: x.ServiceName, ...(x.Datacenters?.length ? { Datacenters: x.Datacenters } : {}) }));
  for (const x of s) if (!x.ServiceName || !IDENT.test(x.ServiceName)) throw new HttpError(500, `Service identity "${x.ServiceName}" has an invalid name. Only lowercase alphanumeric characters, '-' and '_' are allowed`);
  const n = ((b.NodeIdentities as NodeIdentity[] | undefined) ?? []).map(x => ({ NodeName: x.NodeName, Datacenter: x.Datacenter }));
  for (const x of n) if (!x.NodeName || !IDENT.test(x.NodeName)) throw new HttpError(500, `Node identity "${x.NodeName}" has an invalid name. Only lowercase alphanumeric characters, '-' and '_' are allowed`);
  return { s, n };
}

/** Links with the current Name of what they point at; links to deleted objects drop out. */
export function fillLinks(links: Link[] | undefined, name: (id: string) => string | undefined): Link[] {
  const out: Link[] = [];
  for (const l of links ?? []) { const n = name(l.ID); if (n !== undefined) out.push({ ID: l.ID, Name: n }); }
  return out;
}
