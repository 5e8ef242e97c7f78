/**
 * @module ACL enforcement for every HTTP route, in one place.
 *
 * The agent installs an AclGuard on the Router when `acl.enabled`. For each request it resolves the
 * token (`?token=`, `X-Consul-Token`, `Authorization: Bearer`, the agent's default token, then
 * anonymous), answers 403 `ACL not found` for an unknown one, runs the route's declared check
 * (403 `Permission denied: …`), calls the handler, and filters the reply with the route's filter
 * (setting `X-Consul-Results-Filtered-By-ACLs: true` when something was removed and the request
 * had a token). Routes declare their permission in src/http/acl-table.ts (by pattern) or with
 * `r.add(..., { acl })`; a route that declares nothing needs `acl:write` (fail closed).
 */
import type { Authorizer, Level } from '../acl/authorizer.ts';
import type { Resource, Scalar } from '../acl/rules.ts';
import { AclNotFound, type AclResolver, type Identity } from '../acl/resolver.ts';
import { HttpError, toJson, type AclFilter, type AclCheck, type Ctx, type Handler, type Reply, type RouteAcl } from './server.ts';

export type { AclCheck, AclFilter, RouteAcl } from './server.ts';

/** The identity of a request, as route handlers see it (`whoami`). */
export interface RequestIdentity extends Identity {
  /** The secret the request resolved with ('' = anonymous), and whether the request itself carried it. */
  secret: string;
  explicit: boolean;
}

/** Where the guard leaves the request's identity on its Ctx (a symbol: cheaper than a WeakMap per request). */
const IDENTITY = Symbol('acl.identity');
type WithIdentity = Ctx & { [IDENTITY]?: RequestIdentity };
const identities = {
  get: (ctx: Ctx) => (ctx as WithIdentity)[IDENTITY],
  set: (ctx: Ctx, r: RequestIdentity) => { (ctx as WithIdentity)[IDENTITY] = r; },
};

/** The request's identity, or undefined when ACLs are disabled. */
export function whoami(ctx: Ctx): RequestIdentity | undefined {
  return identities.get(ctx);
}

/** Consul's detailed 403 text. */
export function deniedText(who: { accessor: string; anonymous: boolean } | undefined, perm: string, name?: string): string {
  const on = name === undefined ? '' : ` on ${JSON.stringify(name)}`;
  if (!who || who.accessor === '') return 'Permission denied';
  if (who.anonymous) return `Permission denied: anonymous token lacks permission '${perm}'${on}. The anonymous token is used implicitly when a request does not specify a token.`;
  return `Permission denied: token with AccessorID '${who.accessor}' lacks permission '${perm}'${on}`;
}

/** Throws 403 unless `level` on `res`/`name` is allowed (no-op with ACLs disabled). */
export function requirePerm(ctx: Ctx, res: Resource, name: string, level: Level): void {
  const w = identities.get(ctx);
  if (w && !w.authz.allow(res, name, level)) throw new HttpError(403, deniedText(w, `${res}:${level}`, name));
}

export function requireScalar(ctx: Ctx, s: Scalar, level: 'read' | 'write'): void {
  const w = identities.get(ctx);
  if (w && !w.authz.allowScalar(s, level)) throw new HttpError(403, deniedText(w, `${s}:${level}`));
}

/** The token a request carries, in Consul's precedence (empty values fall through). */
export function requestToken(ctx: Ctx): string {
  const q = ctx.query.get('token');
  if (q) return q;
  const h = ctx.req.headers['x-consul-token'];
  if (typeof h === 'string' && h) return h;
  const auth = ctx.req.headers.authorization;
  if (typeof auth === 'string') {
    const parts = auth.split(' ').filter(p => p !== '');
    if (parts.length >= 2 && parts[0]!.toLowerCase() === 'bearer') return parts[1]!;
  }
  return '';
}

/** The agent's own tokens (`acl.tokens`, replaced through PUT /v1/agent/token/:type). */
export interface AgentTokens {
  default: string;
  agent: string;
  dns: string;
  agentRecovery: string;
}

/** Filtered JSON bodies, per rendered buffer and authorizer (a shared render is filtered once per token). */
const filtered = new WeakMap<Buffer, WeakMap<Authorizer, { body: Buffer | string; removed: boolean; status?: number }>>();

export class AclGuard {
  readonly resolver: AclResolver;
  readonly tokens: AgentTokens;
  readonly table: Record<string, RouteAcl>;
  readonly defaultPolicy: string;

  constructor(resolver: AclResolver, tokens: AgentTokens, table: Record<string, RouteAcl>) {
    this.resolver = resolver;
    this.tokens = tokens;
    this.table = table;
    this.defaultPolicy = resolver.cfg.defaultPolicy;
  }

  /** Resolves the request's token; 403 `ACL not found` for an unknown one. */
  async identify(ctx: Ctx): Promise<RequestIdentity> {
    return this.#identifySync(ctx) ?? this.#identifySlow(ctx);
  }

  /** From the resolver's cache, without a promise (the common case). */
  #identifySync(ctx: Ctx): RequestIdentity | undefined {
    const explicit = requestToken(ctx);
    const secret = explicit || this.tokens.default;
    let id: Identity | undefined;
    try {
      id = this.resolver.cached(secret);
    } catch (err) {
      if (err instanceof AclNotFound) return undefined; // the slow path words the error
      throw err;
    }
    if (!id) return undefined;
    const r: RequestIdentity = { accessor: id.accessor, anonymous: id.anonymous, authz: id.authz, token: id.token, secret, explicit: explicit !== '' };
    identities.set(ctx, r);
    return r;
  }

  async #identifySlow(ctx: Ctx): Promise<RequestIdentity> {
    const explicit = requestToken(ctx);
    const secret = explicit || this.tokens.default;
    if (secret === 'allow' || secret === 'deny' || secret === 'manage') throw new HttpError(500, 'Cannot resolve root ACL');
    let id: Identity;
    try {
      id = await this.resolver.resolve(secret);
    } catch (err) {
      if (err instanceof AclNotFound) {
        throw new HttpError(403, (await this.resolver.bootstrapped()) ? 'ACL not found' : 'ACL system must be bootstrapped before making any requests that require authorization: ACL not found');
      }
      throw err;
    }
    const r: RequestIdentity = { ...id, secret, explicit: explicit !== '' };
    identities.set(ctx, r);
    return r;
  }

  /** Runs one request through its route's declaration (`own` = the route's own `acl` option). */
  async run(ctx: Ctx, pattern: string, own: RouteAcl | undefined, handler: Handler): Promise<Reply> {
    try {
      return await this.#run(ctx, pattern, own, handler);
    } catch (err) {
      // Consul sets the header before anything else: errors carry it too.
      if (err instanceof HttpError) (err.headers ??= {})['X-Consul-Default-ACL-Policy'] = this.defaultPolicy;
      throw err;
    }
  }

  async #run(ctx: Ctx, pattern: string, own: RouteAcl | undefined, handler: Handler): Promise<Reply> {
    const decl = own ?? this.table[pattern];
    let reply: Reply;
    if (decl?.public) {
      reply = await handler(ctx);
    } else {
      const who = this.#identifySync(ctx) ?? await this.#identifySlow(ctx);
      const c = decl ? (typeof decl.check === 'function' ? decl.check : decl.check?.[ctx.method] ?? decl.check?.['*']) : fallback;
      if (c) { const p = c(ctx, who.authz); if (p) await p; }
      reply = await handler(ctx);
      if (decl?.filter && !who.authz.all && (reply.status ?? 200) < 400) reply = this.#filter(ctx, reply, decl.filter, who);
    }
    // Routes build a fresh headers object per reply: it is extended in place.
    (reply.headers ??= {})['X-Consul-Default-ACL-Policy'] = this.defaultPolicy;
    return reply;
  }

  #filter(ctx: Ctx, reply: Reply, f: AclFilter, who: RequestIdentity): Reply {
    const b = reply.body;
    let removed = false;
    if (Buffer.isBuffer(b)) {
      // Only JSON renders are filtered: a raw KV value (?raw) is the user's bytes, whatever they look like.
      if (!reply.headers?.['Content-Type']?.includes('json')) return reply;
      let per = filtered.get(b);
      if (!per) filtered.set(b, (per = new WeakMap()));
      let hit = per.get(who.authz);
      if (!hit) {
        const r = f(JSON.parse(b.toString('utf8')), who.authz, ctx);
        hit = { body: !r.removed ? b : typeof r.body === 'string' ? r.body : Buffer.from(toJson(r.body, ctx.has('pretty'))), removed: r.removed, status: r.status };
        per.set(who.authz, hit);
      }
      reply.body = hit.body;
      if (hit.status) reply.status = hit.status;
      removed = hit.removed;
    } else if (b !== undefined && typeof b !== 'string') {
      const r = f(b, who.authz, ctx);
      reply.body = r.body;
      if (r.status) reply.status = r.status;
      removed = r.removed;
    }
    if (removed && who.secret !== '') (reply.headers ??= {})['X-Consul-Results-Filtered-By-ACLs'] = 'true';
    return reply;
  }
}

/** Routes that declare nothing: management-level only (a new route is closed until it declares). */
const fallback: AclCheck = ctx => requireScalar(ctx, 'acl', 'write');
