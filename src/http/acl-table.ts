/**
 * @module What each HTTP route needs under ACLs (the reference's table, consul-acl.md §10), by
 * route pattern. A new route adds a row here (or passes `{ acl }` to `r.add`): `check` per method
 * (`*` = any), and `filter` for reads that drop what the token may not read. Helpers below build
 * the common forms; see src/http/acl.ts for how the guard runs them.
 */
import type { Authorizer } from '../acl/authorizer.ts';
import type { Resource } from '../acl/rules.ts';
import { HttpError, type Ctx } from './server.ts';
import { deniedText, requirePerm, requireScalar, whoami, type AclCheck, type AclFilter, type RouteAcl } from './acl.ts';
import type { ApiDeps } from './context.ts';
import { keysFor } from '../store/keys.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A field of a decoded JSON body, case-insensitively (Consul's decoder). */
export function field(o: unknown, name: string): unknown {
  if (!isObj(o)) return undefined;
  if (name in o) return o[name];
  const l = name.toLowerCase();
  for (const [k, v] of Object.entries(o)) if (k.toLowerCase() === l) return v;
  return undefined;
}

/** `level` on `res` named by the route parameter (or by `name(ctx)`). */
export const named = (res: Resource, level: 'read' | 'list' | 'write', name: (ctx: Ctx) => string = ctx => ctx.param): AclCheck =>
  ctx => requirePerm(ctx, res, name(ctx), level);
export const scalar = (s: 'acl' | 'keyring' | 'operator', level: 'read' | 'write'): AclCheck => ctx => requireScalar(ctx, s, level);
export const none: AclCheck = () => {};

/** Keeps the items of an array `keep` allows. */
export const filterArray = (keep: (x: Obj, a: Authorizer) => boolean): AclFilter => (body, a) => {
  if (!Array.isArray(body)) return { body, removed: false };
  const out = body.filter(x => !isObj(x) || keep(x, a));
  return { body: out, removed: out.length !== body.length };
};

/** Keeps the entries of an object map `keep` allows (by key and value). */
export const filterMap = (keep: (k: string, v: Obj, a: Authorizer) => boolean): AclFilter => (body, a) => {
  if (!isObj(body)) return { body, removed: false };
  const out: Obj = {};
  let removed = false;
  for (const [k, v] of Object.entries(body)) {
    if (keep(k, v as Obj, a)) out[k] = v;
    else removed = true;
  }
  return { body: out, removed };
};

const nodeOk = (a: Authorizer, n: unknown) => typeof n !== 'string' || a.allow('node', n, 'read');
const svcOk = (a: Authorizer, s: unknown) => typeof s !== 'string' || s === '' || a.allow('service', s, 'read');
/** A health check (or catalog ServiceNode): its node, and its service if it has one. */
const checkOk = (c: Obj, a: Authorizer) => nodeOk(a, c.Node) && svcOk(a, c.ServiceName);

/** An executed prepared query (or its remote half): instances the token may not read are dropped. */
const executeFilter: AclFilter = (body, a) => {
  if (!isObj(body) || !Array.isArray(body.Nodes)) return { body, removed: false };
  const r = filterArray((e, az) => isObj(e.Node) && isObj(e.Service) && nodeOk(az, e.Node.Node) && svcOk(az, e.Service.Service))(body.Nodes, a, undefined as never);
  return { body: { ...body, Nodes: r.body }, removed: r.removed };
};

export function aclTable(deps: ApiDeps): Record<string, RouteAcl> {
  const own = () => deps.view.node(deps.nodeName);
  const agentRead = named('agent', 'read', () => deps.nodeName);
  const agentWrite = named('agent', 'write', () => deps.nodeName);
  const ownNodeWrite = named('node', 'write', () => deps.nodeName);
  /** An agent check by ID: service:write on its service, else node:write on this node. */
  const agentCheckWrite = (id: (ctx: Ctx) => string): AclCheck => ctx => {
    const c = own()?.checks.get(id(ctx));
    if (c?.ServiceName) requirePerm(ctx, 'service', c.ServiceName, 'write');
    else requirePerm(ctx, 'node', deps.nodeName, 'write');
  };
  const agentServiceByIdWrite: AclCheck = ctx => {
    const s = own()?.services.get(ctx.param);
    requirePerm(ctx, 'service', s?.Service ?? ctx.param, 'write');
  };
  const sessionWriteById: AclCheck = async ctx => {
    const s = await deps.kv.sessions.get(ctx.param).catch(() => null);
    if (s) requirePerm(ctx, 'session', s.Node, 'write');
  };
  const kvList: AclCheck = ctx => {
    if (deps.config.acl.enableKeyListPolicy) requirePerm(ctx, 'key', ctx.param, 'list');
  };
  const kvKeyOk = (k: unknown, a: Authorizer) => typeof k !== 'string' || a.allow('key', k, 'read');

  const t: Record<string, RouteAcl> = {
    // --- no ACL needed ---
    '/ui': { public: true }, // static files of the web UI (its API calls carry the user's token)
    '/ui/': { public: true },
    '/v1/catalog/datacenters': { check: none },
    '/v1/coordinate/datacenters': { check: none },
    '/v1/status/leader': { check: none },
    '/v1/status/peers': { check: none },
    '/v1/catalog/connect/': { check: none },
    '/v1/health/connect/': { check: none },
    '/v1/health/ingress/': { check: none },
    // --- catalog and health reads: filtered ---
    '/v1/catalog/nodes': { check: none, filter: filterArray((n, a) => nodeOk(a, n.Node)) },
    '/v1/catalog/services': { check: none, filter: filterMap((k, _v, a) => svcOk(a, k)) },
    '/v1/catalog/service/': { check: none, filter: filterArray(checkOk) },
    '/v1/catalog/node/': {
      check: none,
      filter: (body, a) => {
        if (!isObj(body) || !isObj(body.Node)) return { body, removed: false };
        if (!nodeOk(a, body.Node.Node)) return { body: null, removed: true };
        const r = filterMap((_k, v, az) => svcOk(az, v.Service))(body.Services, a, undefined as never);
        return { body: { ...body, Services: r.body }, removed: r.removed };
      },
    },
    '/v1/health/service/': { check: none, filter: filterArray((e, a) => isObj(e.Node) && isObj(e.Service) && nodeOk(a, e.Node.Node) && svcOk(a, e.Service.Service)) },
    '/v1/health/checks/': { check: none, filter: filterArray(checkOk) },
    '/v1/health/node/': { check: none, filter: filterArray(checkOk) },
    '/v1/health/state/': { check: none, filter: filterArray(checkOk) },
    '/v1/coordinate/nodes': { check: none, filter: filterArray((n, a) => nodeOk(a, n.Node)) },
    '/v1/coordinate/node/': { check: none, filter: filterArray((n, a) => nodeOk(a, n.Node)) },
    '/v1/coordinate/update': { check: async ctx => requirePerm(ctx, 'node', String(field(await ctx.json(), 'Node') ?? ''), 'write') },
    // --- catalog writes ---
    '/v1/catalog/register': { check: catalogRegister(deps) },
    '/v1/catalog/deregister': { check: catalogDeregister(deps) },
    // --- KV and transactions ---
    '/v1/kv/': {
      check: {
        GET: ctx => (ctx.has('recurse') || ctx.has('keys') ? kvList(ctx, undefined as never) : requirePerm(ctx, 'key', ctx.param, 'read')),
        PUT: named('key', 'write'),
        DELETE: ctx => {
          if (!ctx.has('recurse')) return requirePerm(ctx, 'key', ctx.param, 'write');
          const w = whoami(ctx);
          if (w && !w.authz.keyWritePrefix(ctx.param)) throw new HttpError(403, deniedText(w, 'key:write', ctx.param));
        },
      },
      filter: (body, a, ctx) => {
        // A single key was checked before the lookup: only ?recurse and ?keys lists are filtered.
        if (!Array.isArray(body) || !(ctx.has('recurse') || ctx.has('keys'))) return { body, removed: false };
        const out = body.filter(x => kvKeyOk(isObj(x) ? x.Key : x, a));
        if (out.length === body.length) return { body, removed: false };
        if (out.length === 0 && (ctx.has('recurse') || ctx.param !== '')) return { body: '', removed: true, status: 404 };
        return { body: out, removed: true };
      },
    },
    '/v1/txn': { check: txnCheck },
    // --- sessions ---
    '/v1/session/create': { check: async ctx => requirePerm(ctx, 'session', String(field(await ctx.json(), 'Node') || deps.nodeName), 'write') },
    '/v1/session/destroy/': { check: sessionWriteById },
    '/v1/session/renew/': { check: sessionWriteById },
    '/v1/session/info/': { check: none, filter: filterArray((s, a) => typeof s.Node !== 'string' || a.allow('session', s.Node, 'read')) },
    '/v1/session/list': { check: none, filter: filterArray((s, a) => typeof s.Node !== 'string' || a.allow('session', s.Node, 'read')) },
    '/v1/session/node/': { check: none, filter: filterArray((s, a) => typeof s.Node !== 'string' || a.allow('session', s.Node, 'read')) },
    // --- events ---
    '/v1/event/fire/': { check: named('event', 'write') },
    '/v1/event/list': { check: none, filter: filterArray((e, a) => typeof e.Name !== 'string' || a.allow('event', e.Name, 'read')) },
    // --- agent ---
    '/v1/agent/self': { check: agentRead },
    '/v1/agent/metrics': { check: agentRead },
    '/v1/agent/monitor': { check: agentRead },
    '/v1/agent/reload': { check: agentWrite },
    '/v1/agent/leave': { check: agentWrite },
    '/v1/agent/join/': { check: agentWrite },
    '/v1/agent/token/': { check: agentWrite },
    '/v1/agent/force-leave/': { check: scalar('operator', 'write') },
    '/v1/agent/maintenance': { check: ownNodeWrite },
    '/v1/agent/members': { check: none, filter: filterArray((m, a) => nodeOk(a, m.Name)) },
    '/v1/agent/services': { check: none, filter: filterMap((_k, v, a) => svcOk(a, v.Service)) },
    '/v1/agent/checks': { check: none, filter: filterMap((_k, v, a) => checkOk(v, a)) },
    '/v1/agent/service/': { check: ctx => { const s = own()?.services.get(ctx.param); if (s) requirePerm(ctx, 'service', s.Service, 'read'); } },
    '/v1/agent/health/service/id/': { check: ctx => { const s = own()?.services.get(ctx.param); if (s) requirePerm(ctx, 'service', s.Service, 'read'); } },
    '/v1/agent/health/service/name/': { check: named('service', 'read') },
    '/v1/agent/service/register': { check: async ctx => requirePerm(ctx, 'service', String(field(await ctx.json(), 'Name') ?? ''), 'write') },
    '/v1/agent/service/deregister/': { check: agentServiceByIdWrite },
    '/v1/agent/service/maintenance/': { check: agentServiceByIdWrite },
    '/v1/agent/check/register': {
      check: async ctx => {
        const b = await ctx.json();
        const sid = field(b, 'ServiceID');
        const s = typeof sid === 'string' && sid ? own()?.services.get(sid) : undefined;
        if (s) requirePerm(ctx, 'service', s.Service, 'write');
        else requirePerm(ctx, 'node', deps.nodeName, 'write');
      },
    },
    '/v1/agent/check/deregister/': { check: agentCheckWrite(ctx => ctx.param) },
    '/v1/agent/check/pass/': { check: agentCheckWrite(ctx => ctx.param) },
    '/v1/agent/check/warn/': { check: agentCheckWrite(ctx => ctx.param) },
    '/v1/agent/check/fail/': { check: agentCheckWrite(ctx => ctx.param) },
    '/v1/agent/check/update/': { check: agentCheckWrite(ctx => ctx.param) },
    // --- prepared queries: the list is filtered by query:read on Name, create needs query:write on its Name;
    // /v1/query/:id (below) looks the stored query's Name up. Execute results: filtered by service and node read. ---
    '/v1/query': {
      check: { GET: none, POST: async ctx => requirePerm(ctx, 'query', String(field(await ctx.json(), 'Name') ?? ''), 'write') },
      filter: filterArray((q, a) => typeof q.Name !== 'string' || a.allow('query', q.Name, 'read')),
    },
    // --- operator-level ---
    '/v1/snapshot': { check: scalar('acl', 'write') },
    '/v1/roster/query/': { check: scalar('operator', 'write') },
    '/v1/operator/keyring': { check: { GET: scalar('keyring', 'read'), '*': scalar('keyring', 'write') } },
    // --- routes of later features (web UI, Go-client endpoints, prepared queries, Eureka) ---
    '/': { public: true }, // redirects to /ui/
    '/v1/agent/host': { check: scalar('operator', 'read') },
    '/v1/catalog/node-services/': {
      check: none,
      filter: (body, a) => {
        if (!isObj(body) || !isObj(body.Node)) return { body, removed: false };
        if (!nodeOk(a, body.Node.Node)) return { body: null, removed: true };
        const r = filterArray((x, az) => svcOk(az, x.Service))(body.Services, a, undefined as never);
        return { body: { ...body, Services: r.body }, removed: r.removed };
      },
    },
    '/v1/internal/ui/services': { check: none, filter: filterArray((x, a) => svcOk(a, x.Name)) },
    '/v1/internal/ui/nodes': { check: none, filter: filterArray((x, a) => nodeOk(a, x.Node)) },
    '/v1/internal/ui/node/': {
      check: none,
      filter: (body, a) => {
        if (!isObj(body)) return { body, removed: false };
        if (!nodeOk(a, body.Node)) return { body: null, removed: true };
        const r = filterArray((x, az) => svcOk(az, x.Service))(body.Services, a, undefined as never);
        return { body: { ...body, Services: r.body }, removed: r.removed };
      },
    },
    // A prepared query by ID: read, explain and execute need query:read on its name (a query without a name:
    // none, as its results are filtered); update needs query:write on the stored and the new name, delete on the stored one.
    '/v1/query/': {
      check: {
        GET: async ctx => { const n = await storedQueryName(ctx.param.replace(/\/(execute|explain)$/, '')); if (n) requirePerm(ctx, 'query', n, 'read'); },
        PUT: async ctx => {
          const n = await storedQueryName(ctx.param);
          if (n) requirePerm(ctx, 'query', n, 'write');
          requirePerm(ctx, 'query', String(field(await ctx.json(), 'Name') ?? ''), 'write');
        },
        DELETE: async ctx => { const n = await storedQueryName(ctx.param); if (n) requirePerm(ctx, 'query', n, 'write'); },
      },
      filter: executeFilter,
    },
    // The remote half of a failover: what it returns is filtered by the caller's service and node read.
    '/v1/roster/query-execute': { check: none, filter: executeFilter },
  };
  // Eureka (src/eureka): its clients send no Consul token, so they act as the agent's default token. A write
  // needs service:write on the app (the catalog service name); reading one app service:read on it; the whole
  // registry, deltas, VIPs and instances by ID read across every service (`service_prefix ""` read).
  const eurekaApp: AclCheck = ctx => {
    const app = ctx.param.split('/')[0] ?? '';
    if (app === '' || app === 'delta') return requirePerm(ctx, 'service', '', 'read');
    requirePerm(ctx, 'service', app.toLowerCase(), ctx.method === 'GET' ? 'read' : 'write');
  };
  const allServicesRead: AclCheck = ctx => requirePerm(ctx, 'service', '', 'read');
  for (const base of ['/eureka/v2', '/eureka']) {
    t[`${base}/apps/`] = { check: eurekaApp };
    for (const p of ['vips/', 'svips/', 'instances/']) t[`${base}/${p}`] = { check: allServicesRead };
  }
  return t;

  /** The name of a stored prepared query by ID ('' when none, or when it has no name). */
  async function storedQueryName(id: string): Promise<string> {
    const raw = await deps.redis.hget(keysFor(deps.config.datacenter).queries, id.toLowerCase()).catch(() => null);
    if (!raw) {
      // Executed by name: the name itself.
      return /^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(id) ? '' : id;
    }
    try { return String((JSON.parse(raw.split('\n').slice(3).join('\n')) as { Name?: string }).Name ?? ''); } catch { return ''; }
  }
}

/** Transactions: every KV operation is checked (reads need key:read, writes key:write, delete-tree the prefix rule). */
const txnCheck: AclCheck = async ctx => {
  const ops = await ctx.json();
  if (!Array.isArray(ops)) return; // the route answers the decode error
  for (const op of ops) {
    const kv = field(op, 'KV');
    if (!isObj(kv)) continue;
    const verb = String(field(kv, 'Verb') ?? '');
    const key = String(field(kv, 'Key') ?? '');
    if (verb === 'delete-tree') {
      const w = whoami(ctx);
      if (w && !w.authz.keyWritePrefix(key)) throw new HttpError(403, deniedText(w, 'key:write', key));
    } else if (verb === 'get-tree') requirePerm(ctx, 'key', key, 'list');
    else requirePerm(ctx, 'key', key, verb === 'get' || verb.startsWith('check') ? 'read' : 'write');
  }
};

/**
 * PUT /v1/catalog/register: node:write when the node is new or its ID/address/tagged
 * addresses/meta change; service:write on the service (and on the service now holding that ID);
 * node checks need node:write, service checks service:write on their service.
 */
function catalogRegister(deps: ApiDeps): AclCheck {
  return async ctx => {
    const b = await ctx.json();
    if (!isObj(b)) return;
    const nodeName = String(field(b, 'Node') ?? '');
    const st = deps.view.node(nodeName);
    const same = (x: unknown, y: unknown) => JSON.stringify(x ?? {}) === JSON.stringify(y ?? {});
    const skip = field(b, 'SkipNodeUpdate') === true;
    const changes = !st || (!skip && ((field(b, 'ID') && field(b, 'ID') !== st.node.ID) || field(b, 'Address') !== st.node.Address
      || (field(b, 'TaggedAddresses') !== undefined && !same(field(b, 'TaggedAddresses'), st.node.TaggedAddresses))
      || (field(b, 'NodeMeta') !== undefined && !same(field(b, 'NodeMeta'), st.node.Meta))));
    if (changes) requirePerm(ctx, 'node', nodeName, 'write');
    const svc = field(b, 'Service');
    let newSvc: { id: string; name: string } | undefined;
    if (isObj(svc) && Object.keys(svc).length) {
      const name = String(field(svc, 'Service') ?? '');
      const id = String(field(svc, 'ID') || name);
      newSvc = { id, name };
      requirePerm(ctx, 'service', name, 'write');
      const cur = st?.services.get(id);
      if (cur && cur.Service !== name) requirePerm(ctx, 'service', cur.Service, 'write');
    }
    const checks = [field(b, 'Check'), ...((field(b, 'Checks') as unknown[] | undefined) ?? [])].filter(isObj);
    for (const c of checks) {
      const sid = String(field(c, 'ServiceID') ?? '');
      if (!sid) { requirePerm(ctx, 'node', nodeName, 'write'); continue; }
      const name = newSvc?.id === sid ? newSvc.name : st?.services.get(sid)?.Service ?? '';
      requirePerm(ctx, 'service', name, 'write');
    }
  };
}

/** PUT /v1/catalog/deregister: node:write on the node suffices; else service:write on the service (or the check's service). */
function catalogDeregister(deps: ApiDeps): AclCheck {
  return async ctx => {
    const b = await ctx.json();
    if (!isObj(b)) return;
    const nodeName = String(field(b, 'Node') ?? '');
    const w = whoami(ctx);
    if (!w || w.authz.allow('node', nodeName, 'write')) return;
    const st = deps.view.node(nodeName);
    const sid = String(field(b, 'ServiceID') ?? '');
    const cid = String(field(b, 'CheckID') ?? '');
    if (sid) return requirePerm(ctx, 'service', st?.services.get(sid)?.Service ?? sid, 'write');
    if (cid) {
      const c = st?.checks.get(cid);
      if (c?.ServiceName) return requirePerm(ctx, 'service', c.ServiceName, 'write');
    }
    requirePerm(ctx, 'node', nodeName, 'write');
  };
}
