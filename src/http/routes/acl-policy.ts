/** @module /v1/acl/policy*, /v1/acl/role*: Consul's shapes, name rules and error texts. */
import { randomUUID } from 'node:crypto';
import { HttpError, type Router } from '../server.ts';
import type { AclDeps, ApiDeps } from '../context.ts';
import { AclStoreError, type PolicyRec, type RoleRec } from '../../store/acl-store.ts';
import { parseRules, RulesError } from '../../acl/rules.ts';
import { MANAGEMENT_POLICY_ID, READ_ONLY_POLICY_ID } from '../../acl/resolver.ts';
import { aclOn, contentHash, decodeBody, fillLinks, identities, resolveLinks, RW } from './acl-common.ts';

const POLICY_NAME = /^[A-Za-z0-9\-_]+\/?[A-Za-z0-9\-_]*$/;
const ROLE_NAME = /^[A-Za-z0-9\-_]{1,256}$/;

function wirePolicy(p: PolicyRec, stub = false): Record<string, unknown> {
  const o: Record<string, unknown> = { ID: p.ID, Name: p.Name, Description: p.Description };
  if (!stub) o.Rules = p.Rules;
  if (stub) o.Datacenters = p.Datacenters?.length ? p.Datacenters : null;
  else if (p.Datacenters?.length) o.Datacenters = p.Datacenters;
  o.Hash = p.Hash;
  o.CreateIndex = p.CreateIndex;
  o.ModifyIndex = p.ModifyIndex;
  return o;
}

function wireRole(acl: AclDeps, r: RoleRec): Record<string, unknown> {
  const o: Record<string, unknown> = { ID: r.ID, Name: r.Name, Description: r.Description };
  const pol = fillLinks(r.Policies, id => acl.resolver.policies.get(id)?.rec.Name);
  if (pol.length) o.Policies = pol;
  if (r.ServiceIdentities?.length) o.ServiceIdentities = r.ServiceIdentities;
  if (r.NodeIdentities?.length) o.NodeIdentities = r.NodeIdentities;
  o.Hash = r.Hash;
  o.CreateIndex = r.CreateIndex;
  o.ModifyIndex = r.ModifyIndex;
  return o;
}

export function aclPolicyRoutes(r: Router, deps: ApiDeps): void {
  const write = async (acl: AclDeps, b: Record<string, unknown>, id: string | null) => {
    const name = typeof b.Name === 'string' ? b.Name : '';
    if (!name) throw new HttpError(500, 'Invalid Policy: no Name is set');
    if (!POLICY_NAME.test(name) || name.length > 128 || name.startsWith('builtin/') && id !== READ_ONLY_POLICY_ID) throw new HttpError(500, 'Invalid Policy: invalid Name. Only alphanumeric characters, \'-\' and \'_\' are allowed');
    const rules = typeof b.Rules === 'string' ? b.Rules : '';
    try { parseRules(rules); } catch (err) { if (err instanceof RulesError) throw new HttpError(500, err.message); throw err; }
    const dcs = Array.isArray(b.Datacenters) && b.Datacenters.length ? (b.Datacenters as string[]) : null;
    const old = id ? acl.resolver.policies.get(id)?.rec : undefined;
    if (id && !old) throw new HttpError(500, `cannot find policy ${id}`);
    if (id === MANAGEMENT_POLICY_ID && old) {
      if (rules !== old.Rules && rules !== '') throw new HttpError(500, 'Changing the Rules for the builtin global-management policy is not permitted');
      if (JSON.stringify(dcs) !== JSON.stringify(old.Datacenters)) throw new HttpError(500, 'Changing the Datacenters of the builtin global-management policy is not permitted');
    }
    const rec = { ID: id ?? randomUUID(), Name: name, Description: typeof b.Description === 'string' ? b.Description : '', Rules: id === MANAGEMENT_POLICY_ID ? old!.Rules : rules, Datacenters: dcs, Hash: '' };
    rec.Hash = contentHash([rec.Name, rec.Description, rec.Rules, rec.Datacenters]);
    try {
      await acl.resolver.store.putPolicy(id ? 'update' : 'create', rec);
    } catch (err) {
      if (err instanceof AclStoreError && err.code === 'NAMEEXISTS') throw new HttpError(500, `Invalid Policy: A Policy with Name ${JSON.stringify(name)} already exists`);
      if (err instanceof AclStoreError && err.code === 'NAMECLASH') throw new HttpError(500, `Invalid Policy: A policy with name ${JSON.stringify(name)} already exists`);
      if (err instanceof AclStoreError && err.code === 'NOTFOUND') throw new HttpError(500, `cannot find policy ${id}`);
      throw err;
    }
    await acl.resolver.invalidate();
    return { body: wirePolicy(acl.resolver.policies.get(rec.ID)!.rec) };
  };

  r.add(['PUT'], '/v1/acl/policy', async ctx => {
    const acl = aclOn(deps);
    const b = await decodeBody(ctx, 'Policy');
    if (b.ID) throw new HttpError(400, 'Cannot specify the ID when creating a new policy');
    return write(acl, b, null);
  }, { acl: RW });

  r.add(['GET'], '/v1/acl/policies', async () => {
    const acl = aclOn(deps);
    await acl.resolver.refresh();
    const all = [...acl.resolver.policies.values()].map(p => p.rec).sort((a, b) => (a.ID < b.ID ? -1 : 1));
    return { body: all.map(p => wirePolicy(p, true)), headers: { 'X-Consul-Index': String(Math.max(1, ...all.map(p => p.ModifyIndex))) } };
  }, { acl: RW });

  r.add(['GET', 'PUT', 'DELETE'], '/v1/acl/policy/', async ctx => {
    const acl = aclOn(deps);
    await acl.resolver.refresh();
    if (ctx.param.startsWith('name/') && ctx.method === 'GET') {
      const name = ctx.param.slice(5);
      if (!name) throw new HttpError(400, 'Missing policy Name');
      const p = acl.resolver.policyByName(name);
      if (!p) throw new HttpError(404, 'Requested policy does not exist: ACL not found');
      return { body: wirePolicy(p), headers: { 'X-Consul-Index': String(p.ModifyIndex) } };
    }
    const id = ctx.param;
    if (!id) throw new HttpError(400, 'Missing policy ID');
    if (ctx.method === 'GET') {
      const p = acl.resolver.policies.get(id)?.rec;
      if (!p) throw new HttpError(404, 'Requested policy does not exist: ACL not found');
      return { body: wirePolicy(p), headers: { 'X-Consul-Index': String(p.ModifyIndex) } };
    }
    if (ctx.method === 'DELETE') {
      if (id === MANAGEMENT_POLICY_ID) throw new HttpError(500, 'Delete operation not permitted on the builtin global-management policy');
      await acl.resolver.store.deleteNamed('policy', id);
      await acl.resolver.invalidate();
      return { body: true };
    }
    const b = await decodeBody(ctx, 'Policy');
    if (b.ID && b.ID !== id) throw new HttpError(400, 'Policy ID in URL and payload do not match');
    return write(acl, b, id);
  }, { acl: RW });
}

export function aclRoleRoutes(r: Router, deps: ApiDeps): void {
  const write = async (acl: AclDeps, b: Record<string, unknown>, id: string | null) => {
    const name = typeof b.Name === 'string' ? b.Name : '';
    if (!name) throw new HttpError(500, 'Invalid Role: no Name is set');
    if (!ROLE_NAME.test(name)) throw new HttpError(500, 'Invalid Role: invalid Name. Only alphanumeric characters, \'-\' and \'_\' are allowed');
    if (id && !acl.resolver.roles.get(id)) throw new HttpError(500, `cannot find role ${id}`);
    const { s, n } = identities(b);
    const rec = { ID: id ?? randomUUID(), Name: name, Description: typeof b.Description === 'string' ? b.Description : '', Policies: resolveLinks(acl, b.Policies, 'policy'), ServiceIdentities: s, NodeIdentities: n, Hash: '' };
    rec.Hash = contentHash([rec.Name, rec.Description, rec.Policies, s, n]);
    try {
      await acl.resolver.store.putRole(id ? 'update' : 'create', rec);
    } catch (err) {
      if (err instanceof AclStoreError && (err.code === 'NAMEEXISTS' || err.code === 'NAMECLASH')) throw new HttpError(500, `Invalid Role: A Role with Name ${JSON.stringify(name)} already exists`);
      if (err instanceof AclStoreError && err.code === 'NOTFOUND') throw new HttpError(500, `cannot find role ${id}`);
      throw err;
    }
    await acl.resolver.invalidate();
    return { body: wireRole(acl, acl.resolver.roles.get(rec.ID)!) };
  };

  r.add(['PUT'], '/v1/acl/role', async ctx => {
    const acl = aclOn(deps);
    const b = await decodeBody(ctx, 'Role');
    if (b.ID) throw new HttpError(400, 'Cannot specify the ID when creating a new role');
    return write(acl, b, null);
  }, { acl: RW });

  r.add(['GET'], '/v1/acl/roles', async ctx => {
    const acl = aclOn(deps);
    await acl.resolver.refresh();
    const pol = ctx.query.get('policy');
    const all = [...acl.resolver.roles.values()].filter(x => !pol || x.Policies.some(p => p.ID === pol)).sort((a, b) => (a.ID < b.ID ? -1 : 1));
    return { body: all.map(x => wireRole(acl, x)) };
  }, { acl: RW });

  r.add(['GET', 'PUT', 'DELETE'], '/v1/acl/role/', async ctx => {
    const acl = aclOn(deps);
    await acl.resolver.refresh();
    if (ctx.param.startsWith('name/') && ctx.method === 'GET') {
      const name = ctx.param.slice(5);
      if (!name) throw new HttpError(400, 'Missing role Name');
      const x = acl.resolver.roleByName(name);
      if (!x) throw new HttpError(404, 'Requested role does not exist: ACL not found');
      return { body: wireRole(acl, x) };
    }
    const id = ctx.param;
    if (!id) throw new HttpError(400, 'Missing role ID');
    if (ctx.method === 'GET') {
      const x = acl.resolver.roles.get(id);
      if (!x) throw new HttpError(404, 'Requested role does not exist: ACL not found');
      return { body: wireRole(acl, x) };
    }
    if (ctx.method === 'DELETE') {
      await acl.resolver.store.deleteNamed('role', id);
      await acl.resolver.invalidate();
      return { body: true };
    }
    const b = await decodeBody(ctx, 'Role');
    if (b.ID && b.ID !== id) throw new HttpError(400, 'Role ID in URL and payload do not match');
    return write(acl, b, id);
  }, { acl: RW });
}
