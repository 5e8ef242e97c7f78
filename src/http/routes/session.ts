/**
 * @module /v1/session/*: sessions with TTL (10s..24h, expiring 2×TTL after create/renew),
 * Behavior release|delete, LockDelay, linked checks. Sessions live in Redis; every read goes there.
 */
import { randomUUID } from 'node:crypto';
import { HttpError, type Ctx, type Router } from '../server.ts';
import { blocking } from '../blocking.ts';
import { decode, type Schema } from '../decode.ts';
import { checkDc, durable, metaHeaders, requireRedis, type ApiDeps } from '../context.ts';
import { SESSIONS_TOPIC } from '../../kv/services.ts';
import type { SessionRec, SessionWrite } from '../../store/session-store.ts';
import { formatDurationNs, parseDurationNs } from '../../util/duration.ts';

const SESSION_SCHEMA: Schema = {
  fields: { ID: 'string', Name: 'string', Node: 'string', LockDelay: 'any', Behavior: 'string', TTL: 'string', NodeChecks: 'strings', ServiceChecks: 'any', Checks: 'strings', Namespace: 'string', Partition: 'string' },
  lenient: true,
};

const MIN_TTL_NS = 10e9;
const MAX_TTL_NS = 24 * 3600e9;
const MAX_LOCK_DELAY_NS = 60e9;

/** Consul's Session wire shape (field order as Consul). */
export function wireSession(s: SessionRec): Record<string, unknown> {
  return { ID: s.ID, Name: s.Name, Node: s.Node, LockDelay: s.LockDelay, Behavior: s.Behavior, TTL: s.TTL, NodeChecks: s.NodeChecks, ServiceChecks: s.ServiceChecks, CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex };
}

/** LockDelay: a Go duration string, or a number read as seconds below 1000 and nanoseconds otherwise. Capped at 60s. */
export function parseLockDelay(v: unknown): number {
  let ns: number;
  if (v === undefined || v === null) ns = 15e9;
  else if (typeof v === 'number') ns = v < 1000 ? v * 1e9 : v;
  else if (typeof v === 'string') {
    try { ns = v === '' ? 15e9 : parseDurationNs(v); } catch { throw new HttpError(400, `Request decode failed: time: invalid duration "${v}"`); }
  } else throw new HttpError(400, 'Request decode failed: json: cannot unmarshal into Go struct field .LockDelay of type time.Duration');
  return Math.min(Math.max(0, Math.round(ns)), MAX_LOCK_DELAY_NS);
}

/** Builds a session from a create body, with Consul's defaults and validation messages. */
export function buildSession(body: unknown, deps: ApiDeps): SessionWrite {
  const d = decode(body, SESSION_SCHEMA);
  const nodeName = (d.Node as string) || deps.nodeName;
  const node = deps.view.node(nodeName)?.node.Node ?? nodeName;
  const behavior = (d.Behavior as string) || 'release';
  if (behavior !== 'release' && behavior !== 'delete') throw new HttpError(500, `Invalid Behavior setting '${behavior}'`);
  let ttl = (d.TTL as string) ?? '';
  let ttlNs = 0;
  if (ttl !== '') {
    try { ttlNs = parseDurationNs(ttl); } catch { throw new HttpError(400, `Session TTL '${ttl}' invalid: time: invalid duration "${ttl}"`); }
    if (ttlNs !== 0 && (ttlNs < MIN_TTL_NS || ttlNs > MAX_TTL_NS)) throw new HttpError(500, `Invalid Session TTL '${ttlNs}', must be between [${formatDurationNs(MIN_TTL_NS)}=${formatDurationNs(MAX_TTL_NS)}]`);
    if (ttlNs === 0) ttl = '';
  }
  let nodeChecks = (d.NodeChecks as string[] | undefined) ?? null;
  let serviceChecks: { ID: string; Namespace: string }[] | null = null;
  if (Array.isArray(d.ServiceChecks)) {
    serviceChecks = (d.ServiceChecks as unknown[]).map(x => {
      const o = decode(x, { fields: { ID: 'string', Namespace: 'string' }, lenient: true });
      return { ID: (o.ID as string) ?? '', Namespace: (o.Namespace as string) ?? '' };
    });
  }
  const legacy = d.Checks as string[] | undefined;
  // A key sent as null is not given (the Go client sends `"Checks": null, "NodeChecks": null` for unset fields).
  const given = body && typeof body === 'object' ? Object.entries(body as object).filter(([, v]) => v !== null).map(([k]) => k.toLowerCase()) : [];
  // Consul's fixupChecks: serfHealth unless Checks or NodeChecks is given (ServiceChecks alone keeps the default).
  if (!given.includes('checks') && !given.includes('nodechecks')) nodeChecks = ['serfHealth'];
  else if (legacy && legacy.length) nodeChecks = [...(nodeChecks ?? []), ...legacy.filter(c => !(nodeChecks ?? []).includes(c))];
  const lockDelay = parseLockDelay(d.LockDelay);
  return {
    ID: randomUUID(), Name: (d.Name as string) ?? '', Node: node, LockDelay: lockDelay, Behavior: behavior, TTL: ttl, NodeChecks: nodeChecks, ServiceChecks: serviceChecks,
    _node: node.toLowerCase(), _ttlMs: ttlNs / 1e6, _lockDelayMs: lockDelay / 1e6, _checks: [...(nodeChecks ?? []), ...(serviceChecks ?? []).map(s => s.ID)],
  };
}

function redisError(err: unknown): never {
  const m = (err as Error).message ?? String(err);
  for (const known of ['Missing node registration', 'Missing check', 'Check \'']) {
    const i = m.indexOf(known);
    if (i >= 0) throw new HttpError(500, m.slice(i));
  }
  throw err;
}

export function sessionRoutes(r: Router, deps: ApiDeps): void {
  const { sessions } = deps.kv;

  r.add(['PUT'], '/v1/session/create', async ctx => {
    checkDc(ctx, deps);
    requireRedis(deps);
    const s = buildSession(await ctx.json(), deps);
    try { await sessions.create(s); } catch (err) { redisError(err); }
    await durable(deps);
    return { body: { ID: s.ID } };
  });

  r.add(['PUT'], '/v1/session/destroy/', async ctx => {
    checkDc(ctx, deps);
    requireRedis(deps);
    await sessions.destroy(ctx.param);
    await durable(deps);
    return { body: true };
  });

  r.add(['PUT'], '/v1/session/renew/', async ctx => {
    checkDc(ctx, deps);
    requireRedis(deps);
    const s = await sessions.renew(ctx.param);
    if (!s) throw new HttpError(404, `Session id '${ctx.param}' not found`);
    return { body: [wireSession(s)] };
  });

  const read = (ctx: Ctx, pick: (all: SessionRec[]) => SessionRec[]) => async () => {
    checkDc(ctx, deps);
    if (ctx.has('stale') && ctx.has('consistent')) throw new HttpError(400, 'Cannot specify ?stale with ?consistent, conflicting semantics.');
    requireRedis(deps);
    const res = await blocking(ctx, deps.notifier, { topics: [SESSIONS_TOPIC] }, async () => {
      const l = await sessions.list();
      return { index: l.index, data: pick(l.sessions).map(wireSession) };
    });
    return { body: res.data, headers: metaHeaders(res.index, null) };
  };
  r.add(['GET'], '/v1/session/info/', ctx => read(ctx, all => all.filter(s => s.ID === ctx.param))());
  r.add(['GET'], '/v1/session/list', ctx => read(ctx, all => all)());
  r.add(['GET'], '/v1/session/node/', ctx => read(ctx, all => all.filter(s => s.Node.toLowerCase() === ctx.param.toLowerCase()))());
}
