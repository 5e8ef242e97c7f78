/**
 * @module /v1/query: prepared queries (create, list, read, update, delete, execute, explain) as
 * Consul answers them (../shared/reference/consul-queries-multidc.md Part A), stored in this
 * datacenter's Redis (src/store/query-store.ts), executed by src/http/query-exec.ts. `?dc=` is
 * forwarded before these handlers run (src/http/dc-forward.ts). Also Roster's internal
 * POST /v1/roster/query-execute: the remote half of a failover (Consul's ExecuteRemote).
 */
import { randomUUID } from 'node:crypto';
import { HttpError, type Ctx, type Router } from '../server.ts';
import { decode, type Schema } from '../decode.ts';
import { durable, metaHeaders, readMode, requireRedis, type ApiDeps } from '../context.ts';
import { compileTemplate, QueryError, resolveQuery, UUID_RE, type PreparedQuery } from '../../catalog/prepared-query.ts';
import { QueryStore, QueryWriteError } from '../../store/query-store.ts';
import { parseDurationNs } from '../../util/duration.ts';
import { executeQuery, localInstances, QueryCatalog, wireEntry } from '../query-exec.ts';

const TARGET: Schema = { fields: { Peer: 'string', PeerName: 'string', Datacenter: 'string' }, lenient: true };
const FAILOVER: Schema = { fields: { NearestN: 'int', Datacenters: 'strings', Targets: { array: TARGET } }, lenient: true };
const SERVICE: Schema = {
  fields: {
    Service: 'string', SamenessGroup: 'string', Failover: { object: FAILOVER }, OnlyPassing: 'bool', IgnoreCheckIDs: 'strings', Near: 'string',
    Tags: 'strings', NodeMeta: 'stringMap', ServiceMeta: 'stringMap', Connect: 'bool', Peer: 'string',
  },
  lenient: true,
};
const QUERY: Schema = {
  fields: {
    ID: 'string', Name: 'string', Session: 'string', Token: 'string', Template: { object: { fields: { Type: 'string', Regexp: 'string', RemoveEmptyTags: 'bool' }, lenient: true } },
    Service: { object: SERVICE }, DNS: { object: { fields: { TTL: 'string' }, lenient: true } },
  },
  lenient: true,
};

type Obj = Record<string, unknown>;

/** A request body as a full PreparedQuery (Go's zero values for what is missing), validated as Consul's parseQuery. */
export function parseDefinition(body: unknown): PreparedQuery {
  const d = decode(body ?? {}, QUERY);
  const t = (d.Template ?? {}) as Obj; const s = (d.Service ?? {}) as Obj; const f = (s.Failover ?? {}) as Obj; const dns = (d.DNS ?? {}) as Obj;
  const targets = (f.Targets as Obj[] | undefined)?.map(x => ({ Peer: String(x.Peer ?? x.PeerName ?? ''), Datacenter: String(x.Datacenter ?? '') })) ?? null;
  const q: PreparedQuery = {
    ID: (d.ID as string) ?? '', Name: (d.Name as string) ?? '', Session: (d.Session as string) ?? '', Token: (d.Token as string) ?? '',
    Template: { Type: (t.Type as string) ?? '', Regexp: (t.Regexp as string) ?? '', RemoveEmptyTags: (t.RemoveEmptyTags as boolean) ?? false },
    Service: {
      Service: (s.Service as string) ?? '', SamenessGroup: (s.SamenessGroup as string) ?? '',
      Failover: { NearestN: (f.NearestN as number) ?? 0, Datacenters: (f.Datacenters as string[]) ?? null, Targets: targets },
      OnlyPassing: (s.OnlyPassing as boolean) ?? false, IgnoreCheckIDs: (s.IgnoreCheckIDs as string[]) ?? null, Near: (s.Near as string) ?? '',
      Tags: (s.Tags as string[]) ?? null, NodeMeta: (s.NodeMeta as Record<string, string>) ?? null, ServiceMeta: (s.ServiceMeta as Record<string, string>) ?? null,
      Connect: (s.Connect as boolean) ?? false, Peer: (s.Peer as string) ?? '',
    },
    DNS: { TTL: (dns.TTL as string) ?? '' }, CreateIndex: 0, ModifyIndex: 0,
  };
  const bad = (m: string): never => { throw new HttpError(500, `Invalid prepared query: ${m}`); };
  if (q.Token === '<hidden>') bad("Bad Token '<hidden>', it looks like a query definition with a redacted token was submitted");
  if (!q.Service.Service) bad('Must provide a Service name to query');
  if (q.Service.Failover.NearestN < 0) bad(`Bad NearestN '${q.Service.Failover.NearestN}', must be >= 0`);
  if (q.Service.Failover.Targets?.length && (q.Service.Failover.NearestN || q.Service.Failover.Datacenters?.length)) bad('Failover: Targets cannot be populated with NearestN or Datacenters');
  if (q.DNS.TTL) {
    let ns = 0;
    try { ns = parseDurationNs(q.DNS.TTL); } catch { bad(`Bad DNS TTL '${q.DNS.TTL}': time: invalid duration "${q.DNS.TTL}"`); }
    if (ns < 0) bad(`Bad DNS TTL '${q.DNS.TTL}', must be >=0`);
  }
  try { compileTemplate(q); } catch (err) { throw new HttpError(500, (err as Error).message); }
  return q;
}

function limitParam(ctx: Ctx): number {
  const l = ctx.query.get('limit');
  if (l === null || l === '') return 0;
  if (!/^-?\d+$/.test(l)) throw new HttpError(500, `Bad limit: strconv.Atoi: parsing "${l}": invalid syntax`);
  return Number(l);
}

function clientIp(ctx: Ctx): string {
  const xff = ctx.req.headers['x-forwarded-for'];
  const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
  return first || (ctx.req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

async function write<T>(fn: () => Promise<T>): Promise<T> {
  try { return await fn(); } catch (err) {
    if (err instanceof QueryWriteError) throw new HttpError(500, err.message);
    throw err;
  }
}

/** Registers the routes; returns the in-memory query catalog DNS executes from. */
export function preparedQueryRoutes(r: Router, deps: ApiDeps): QueryCatalog {
  const store = new QueryStore(deps.redis, deps.store.keys);
  const catalog = new QueryCatalog(store);

  const resolve = async (idOrName: string): Promise<PreparedQuery> => {
    requireRedis(deps);
    const { queries } = await store.list();
    try { return resolveQuery(queries, idOrName); } catch (err) {
      if (err instanceof QueryError) throw new HttpError(err.notFound ? 404 : 500, err.message);
      throw err;
    }
  };

  const checkSession = async (q: PreparedQuery): Promise<void> => {
    if (q.Session && !(await store.sessionsExist([q.Session]))[0]) throw new HttpError(500, `invalid session "${q.Session}"`);
  };

  r.add(['GET', 'POST'], '/v1/query', async ctx => {
    if (ctx.method === 'POST') {
      requireRedis(deps);
      const q = parseDefinition(await ctx.json());
      if (q.ID) throw new HttpError(500, 'ID must be empty when creating a new prepared query');
      await checkSession(q);
      q.ID = randomUUID();
      await write(() => store.put(q, 'create'));
      await durable(deps);
      void catalog.refresh();
      return { body: { ID: q.ID } };
    }
    const mode = await readMode(ctx, deps);
    const { queries, index } = await store.list();
    return { body: queries, headers: metaHeaders(index, mode) };
  });

  r.add(['GET', 'PUT', 'DELETE'], '/v1/query/', async ctx => {
    const m = /^(.*)\/(execute|explain)$/.exec(ctx.param);
    if (m) {
      if (ctx.method !== 'GET') throw new HttpError(405, `method ${ctx.method} not allowed`);
      const mode = await readMode(ctx, deps);
      const q = await resolve(m[1]!);
      if (m[2] === 'explain') return { body: { Query: q }, headers: metaHeaders(q.ModifyIndex, mode) };
      const res = await executeQuery(deps, q, { limit: limitParam(ctx), near: ctx.query.get('near') ?? '', clientIp: clientIp(ctx), failover: true });
      return { body: res, headers: metaHeaders(q.ModifyIndex, mode) };
    }
    const id = ctx.param;
    if (ctx.method === 'GET') {
      const mode = await readMode(ctx, deps);
      if (!UUID_RE.test(id)) throw new HttpError(500, `failed prepared query lookup: index error: UUID must be 36 characters`);
      const q = await store.get(id.toLowerCase());
      if (!q) throw new HttpError(404, 'Query not found');
      return { body: [q], headers: metaHeaders(q.ModifyIndex, mode) };
    }
    requireRedis(deps);
    if (ctx.method === 'DELETE') {
      await write(() => store.delete(id.toLowerCase()));
    } else {
      const body = await ctx.json();
      const q = parseDefinition(body);
      q.ID = id.toLowerCase();
      await checkSession(q);
      await write(() => store.put(q, 'update'));
    }
    await durable(deps);
    void catalog.refresh();
    return {};
  });

  // The remote half of a failover: the rendered query, run here without further failover.
  r.add(['POST'], '/v1/roster/query-execute', async ctx => {
    const b = await ctx.json() as { Query?: unknown; Limit?: number } | undefined;
    if (!b?.Query || typeof b.Query !== 'object') throw new HttpError(400, 'Missing Query');
    const q = b.Query as PreparedQuery;
    if (typeof q.Service?.Service !== 'string') throw new HttpError(400, 'Missing Query.Service.Service');
    const nodes = localInstances(deps, parseDefinition(q), { limit: Number(b.Limit) || 0, near: '' }).map(wireEntry);
    return { body: { Service: q.Service.Service, Nodes: nodes, DNS: q.DNS, Datacenter: deps.config.datacenter, Failovers: 0 } };
  });

  return catalog;
}
