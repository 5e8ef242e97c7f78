/**
 * @module /v1/acl/* (bootstrap, token, policy, role) and PUT /v1/agent/token/:type, with Consul's
 * shapes and error texts (reference consul-acl.md §3-7). With ACLs disabled every route answers
 * 401 `ACL support disabled`. SecretIDs are stored only as digests (src/store/acl-store.ts): they
 * are shown when a token is created and by `token/self`, and as `<hidden>` everywhere else.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { HttpError, type Ctx, type Router } from '../server.ts';
import type { AclDeps, ApiDeps } from '../context.ts';
import { requestToken, requireScalar, whoami } from '../acl.ts';
import { AclStoreError, type TokenRec } from '../../store/acl-store.ts';
import { ANONYMOUS_ACCESSOR, MANAGEMENT_POLICY_ID } from '../../acl/resolver.ts';
import { aclRoleRoutes, aclPolicyRoutes } from './acl-policy.ts';
import { aclOn, contentHash, decodeBody, fillLinks, identities, READ, RESERVED, resolveLinks, time, UUID, WRITE } from './acl-common.ts';
import { parseDurationNs } from '../../util/duration.ts';

/** Consul's ACLToken JSON (key order as Consul emits it). */
function wireToken(acl: AclDeps, t: TokenRec, secret: string, withId = false): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (withId) o.ID = secret;
  o.AccessorID = t.AccessorID;
  o.SecretID = secret;
  o.Description = t.Description;
  const pol = fillLinks(t.Policies, id => acl.resolver.policies.get(id)?.rec.Name);
  if (pol.length) o.Policies = pol;
  const roles = fillLinks(t.Roles, id => acl.resolver.roles.get(id)?.Name);
  if (roles.length) o.Roles = roles;
  if (t.ServiceIdentities?.length) o.ServiceIdentities = t.ServiceIdentities;
  if (t.NodeIdentities?.length) o.NodeIdentities = t.NodeIdentities;
  o.Local = t.Local;
  if (t.ExpirationTime) o.ExpirationTime = t.ExpirationTime;
  o.CreateTime = t.CreateTime;
  o.Hash = t.Hash;
  o.CreateIndex = t.CreateIndex;
  o.ModifyIndex = t.ModifyIndex;
  return o;
}

function storeError(err: unknown, id: string): never {
  if (err instanceof AclStoreError) {
    switch (err.code) {
      case 'ACCESSORUSED': throw new HttpError(500, 'Invalid Token: AccessorID is already in use');
      case 'SECRETUSED': throw new HttpError(500, 'Invalid Token: SecretID is already in use');
      case 'NOTFOUND': throw new HttpError(500, `Cannot find token "${id}"`);
      case 'SECRETCHANGE': throw new HttpError(500, 'Changing a token\'s SecretID is not permitted');
      case 'BOOTSTRAPPED': throw new HttpError(403, `Permission denied: ACL bootstrap no longer allowed (reset index: ${err.arg})`);
      default: break;
    }
  }
  throw err;
}

export function aclRoutes(r: Router, deps: ApiDeps): void {
  r.add(['PUT'], '/v1/acl/bootstrap', async ctx => {
    const acl = aclOn(deps);
    const b = await decodeBody(ctx, 'Request');
    const secret = (b.BootstrapSecret as string | undefined) || randomUUID();
    if (!UUID.test(secret)) throw new HttpError(500, 'Invalid Token: SecretID - not a valid UUID');
    const resetFile = join(deps.config.dataDir, 'acl-bootstrap-reset');
    const reset = existsSync(resetFile) ? readFileSync(resetFile, 'utf8').trim() : '';
    const rec = { AccessorID: randomUUID(), Description: 'Bootstrap Token (Global Management)', Policies: [{ ID: MANAGEMENT_POLICY_ID }], Roles: [], ServiceIdentities: [], NodeIdentities: [], Local: false, CreateTime: time(), Hash: '' };
    rec.Hash = contentHash([rec.Description, rec.Policies]);
    try {
      await acl.resolver.store.putToken('bootstrap', rec, secret, reset);
    } catch (err) {
      if (err instanceof AclStoreError && err.code === 'BADRESET') throw new HttpError(500, `Invalid bootstrap reset index (specified ${reset}, reset index: ${err.arg})`);
      storeError(err, rec.AccessorID);
    }
    if (reset) try { unlinkSync(resetFile); } catch { /* already gone */ }
    await acl.resolver.invalidate();
    return { body: wireToken(acl, (await acl.resolver.store.getToken(rec.AccessorID))!, secret, true) };
  }, { acl: { public: true } });

  r.add(['PUT'], '/v1/acl/token', async ctx => {
    const acl = aclOn(deps);
    const b = await decodeBody(ctx, 'Token');
    const rec = await tokenFromBody(acl, b, null);
    const secret = (b.SecretID as string | undefined) || randomUUID();
    try { await acl.resolver.store.putToken('create', rec, secret); } catch (err) { storeError(err, rec.AccessorID); }
    await acl.resolver.invalidate();
    return { body: wireToken(acl, (await acl.resolver.store.getToken(rec.AccessorID))!, secret) };
  }, { acl: WRITE });

  r.add(['GET'], '/v1/acl/tokens', async ctx => {
    const acl = aclOn(deps);
    await acl.resolver.refresh();
    const pol = ctx.query.get('policy');
    const role = ctx.query.get('role');
    const now = Date.now();
    const all = (await acl.resolver.store.listTokens()).filter(t => (!t.ExpirationTime || Date.parse(t.ExpirationTime) > now)
      && (!pol || t.Policies.some(p => p.ID === pol)) && (!role || t.Roles.some(x => x.ID === role)));
    return { body: all.map(t => { const w = wireToken(acl, t, '<hidden>'); delete w.TemplatedPolicies; return w; }), headers: { 'X-Consul-Index': String(Math.max(1, ...all.map(t => t.ModifyIndex))) } };
  }, { acl: READ });

  r.add(['GET', 'PUT', 'DELETE'], '/v1/acl/token/', async ctx => {
    const acl = aclOn(deps);
    const p = ctx.param;
    if (p === 'self' && ctx.method === 'GET') {
      const secret = requestToken(ctx) || acl.tokens.default;
      if (!secret) throw new HttpError(404, 'Supplied token does not exist');
      let id;
      try { id = await acl.resolver.resolve(secret); } catch { throw new HttpError(404, 'Supplied token does not exist'); }
      if (!id.token) throw new HttpError(500, 'ACL store unavailable');
      return { body: wireToken(acl, id.token, secret) };
    }
    // Everything else needs acl:read (GET) or acl:write.
    await acl.resolver.refresh();
    const who = await acl.identify(ctx);
    requireScalar(ctx, 'acl', ctx.method === 'GET' ? 'read' : 'write');
    if (p.endsWith('/clone') && ctx.method === 'PUT') return clone(ctx, acl, p.slice(0, -6));
    if (ctx.method === 'GET') {
      if (!p) throw new HttpError(400, 'Missing token AccessorID');
      const t = await acl.resolver.store.getToken(p);
      if (!t || (t.ExpirationTime && Date.parse(t.ExpirationTime) <= Date.now())) throw new HttpError(404, 'Requested token does not exist: ACL not found');
      return { body: wireToken(acl, t, '<hidden>'), headers: { 'X-Consul-Index': String(t.ModifyIndex) } };
    }
    if (ctx.method === 'DELETE') {
      if (!p) throw new HttpError(400, 'Missing token AccessorID');
      if (!UUID.test(p)) throw new HttpError(500, 'Accessor ID is missing or an invalid UUID');
      if (p === ANONYMOUS_ACCESSOR) throw new HttpError(500, 'Delete operation not permitted on the anonymous token');
      if (who.accessor === p) throw new HttpError(500, 'Deletion of the request\'s authorization token is not permitted');
      await acl.resolver.store.deleteToken(p);
      await acl.resolver.invalidate();
      return { body: true };
    }
    // PUT: update
    const b = await decodeBody(ctx, 'Token');
    if (b.AccessorID && b.AccessorID !== p) throw new HttpError(400, 'Token Accessor ID in URL and payload do not match');
    const old = await acl.resolver.store.getToken(p);
    if (!old) throw new HttpError(500, `Cannot find token "${p}"`);
    const rec = await tokenFromBody(acl, { ...b, AccessorID: p }, old);
    if (b.SecretID && !(await acl.resolver.store.secretMatches(p, b.SecretID as string))) throw new HttpError(500, 'Changing a token\'s SecretID is not permitted');
    // The stored digest is kept: the script compares the digest it is given, so pass the token's own.
    try { await acl.resolver.store.putTokenKeepSecret(rec); } catch (err) { storeError(err, p); }
    await acl.resolver.invalidate();
    const t = (await acl.resolver.store.getToken(p))!;
    return { body: wireToken(acl, t, b.SecretID ? (b.SecretID as string) : '<hidden>') };
  }, { acl: { public: true } });

  r.add(['PUT'], '/v1/agent/token/', async ctx => {
    const acl = aclOn(deps);
    let b: Record<string, unknown>;
    try { b = await decodeBody(ctx, 'Request'); } catch (err) { throw new HttpError(400, (err as Error).message.replace('Request decoding failed', 'Request decode failed')); }
    const v = typeof b.Token === 'string' ? b.Token : '';
    const map: Record<string, keyof AclDeps['tokens'] | null> = {
      default: 'default', acl_token: 'default', agent: 'agent', acl_agent_token: 'agent', agent_recovery: 'agentRecovery', agent_master: 'agentRecovery',
      acl_agent_master_token: 'agentRecovery', dns: 'dns', replication: null, acl_replication_token: null, config_file_service_registration: null,
    };
    if (!(ctx.param in map)) throw new HttpError(404, `Token "${ctx.param}" is unknown`);
    const k = map[ctx.param];
    if (k) acl.tokens[k] = v;
    acl.tokensChanged();
    return {};
  }, { acl: { check: ctx => { const w = whoami(ctx); if (w && deps.acl && !w.authz.allow('agent', deps.nodeName, 'write')) throw new HttpError(403, 'Permission denied'); } } });

  // Legacy (pre-1.4) ACL API, removed in Consul 1.11.
  for (const p of ['/v1/acl/create', '/v1/acl/update', '/v1/acl/destroy/', '/v1/acl/info/', '/v1/acl/clone/', '/v1/acl/list']) {
    r.add(['GET', 'PUT', 'POST', 'DELETE'], p, ctx => {
      aclOn(deps);
      throw new HttpError(410, `Endpoint ${ctx.path} for the legacy ACL system was removed in Consul 1.11.`);
    }, { acl: { public: true } });
  }

  aclPolicyRoutes(r, deps);
  aclRoleRoutes(r, deps);
}

async function clone(ctx: Ctx, acl: AclDeps, accessor: string) {
  const old = await acl.resolver.store.getToken(accessor);
  if (!old) throw new HttpError(500, `Cannot find token "${accessor}"`);
  const b = await decodeBody(ctx, 'Token');
  const secret = randomUUID();
  const rec = { ...old, AccessorID: randomUUID(), Description: (b.Description as string | undefined) ?? old.Description, CreateTime: time() } as Omit<TokenRec, 'CreateIndex' | 'ModifyIndex'> & Partial<TokenRec>;
  delete rec.CreateIndex;
  delete rec.ModifyIndex;
  rec.Hash = contentHash([rec.Description, rec.Policies, rec.Roles, rec.ServiceIdentities, rec.NodeIdentities]);
  await acl.resolver.store.putToken('create', rec, secret);
  await acl.resolver.invalidate();
  return { body: wireToken(acl, (await acl.resolver.store.getToken(rec.AccessorID))!, secret) };
}

/** A token record from a create/update body, validated as Consul does. */
async function tokenFromBody(acl: AclDeps, b: Record<string, unknown>, old: TokenRec | null): Promise<Omit<TokenRec, 'CreateIndex' | 'ModifyIndex'>> {
  for (const f of ['AccessorID', 'SecretID'] as const) {
    const v = b[f];
    if (v === undefined || v === '' || old) continue;
    if (typeof v !== 'string' || !UUID.test(v)) throw new HttpError(500, `Invalid Token: ${f} - not a valid UUID`);
    if (v.startsWith(RESERVED)) throw new HttpError(500, `Invalid Token: ${f} - UUIDs with the prefix "${RESERVED}" are reserved`);
  }
  if (b.ExpirationTTL !== undefined && b.ExpirationTime !== undefined) throw new HttpError(500, 'Token Expiration TTL and Expiration Time cannot both be set');
  let exp: string | undefined = old?.ExpirationTime;
  if (!old) {
    let at: number | undefined;
    if (b.ExpirationTTL !== undefined) {
      const ns = typeof b.ExpirationTTL === 'number' ? b.ExpirationTTL : parseDurationNs(String(b.ExpirationTTL));
      at = Date.now() + ns / 1e6;
    } else if (typeof b.ExpirationTime === 'string' && b.ExpirationTime) at = Date.parse(b.ExpirationTime);
    if (at !== undefined) {
      const d = at - Date.now();
      if (d < 60_000) throw new HttpError(500, `ExpirationTime cannot be less than 1m0s in the future (was ${Math.round(d / 1000)}s)`);
      if (d > 24 * 3600e3) throw new HttpError(500, `ExpirationTime cannot be more than 24h0m0s in the future (was ${Math.round(d / 1000)}s)`);
      exp = new Date(at).toISOString();
    }
  } else {
    if (b.Local !== undefined && b.Local !== old.Local) throw new HttpError(500, `Cannot toggle local mode of ${old.AccessorID}`);
    if (b.ExpirationTime && b.ExpirationTime !== old.ExpirationTime && Date.parse(b.ExpirationTime as string) !== Date.parse(old.ExpirationTime ?? '')) throw new HttpError(500, `Cannot change expiration time of ${old.AccessorID}`);
  }
  const { s, n } = identities(b);
  const rec: Omit<TokenRec, 'CreateIndex' | 'ModifyIndex'> = {
    AccessorID: (b.AccessorID as string) || randomUUID(), Description: (b.Description as string | undefined) ?? '',
    Policies: resolveLinks(acl, b.Policies, 'policy'), Roles: resolveLinks(acl, b.Roles, 'role'), ServiceIdentities: s, NodeIdentities: n,
    Local: old ? old.Local : b.Local === true, CreateTime: old?.CreateTime ?? time(), Hash: '',
  };
  if (exp) rec.ExpirationTime = exp;
  rec.Hash = contentHash([rec.Description, rec.Policies, rec.Roles, rec.ServiceIdentities, rec.NodeIdentities, rec.Local, exp]);
  return rec;
}
