/** @module /v1/agent/*: this agent's own services and checks. */
import { HttpError, type Router } from '../server.ts';
import { decode, SERVICE_SCHEMA } from '../decode.ts';
import { afterWrite, agentRegister, requireRedis, scriptsAllowed, type ApiDeps } from '../context.ts';
import { buildService, buildServiceChecks } from '../registration.ts';
import { wireAgentService, wireCheck } from '../../consul/convert.ts';
import type { HealthStatus } from '../../catalog/model.ts';
import { parseDurationNs } from '../../util/duration.ts';
import { serviceBody } from '../../store/codec.ts';
import { blockingParams } from '../blocking.ts';
import { createHash } from 'node:crypto';
import { applyFilterMap } from './filter-hook.ts';

/** Methods for write endpoints that old python-consul calls with GET (compat switch, off by default). */
export function writeMethods(deps: ApiDeps): string[] {
  return deps.config.legacyGetCompat ? ['PUT', 'GET'] : ['PUT'];
}

/** Route option of those endpoints: a GET there is a write (refused cross-site like any write). */
export const LEGACY_GET = { getWrites: true } as const;

/** The node's gossip health check (Consul's structs.SerfCheckID). */
const SERF_CHECK = 'serfHealth';

export function agentRoutes(r: Router, deps: ApiDeps): void {
  const dc = deps.config.datacenter;
  const own = () => deps.view.node(deps.nodeName);

  r.add(['GET'], '/v1/agent/services', ctx => {
    const out: Record<string, unknown> = {};
    const st = own();
    if (st) for (const s of [...st.services.values()].sort((a, b) => (a.ID < b.ID ? -1 : 1))) out[s.ID] = wireAgentService(s, dc);
    return { body: applyFilterMap(ctx, out) };
  });

  // ContentHash: a hash of the stored definition (indexes excluded), so it changes when and only
  // when the definition does; `?hash=<that>` blocks until it changes (Consul's hash-based blocking).
  r.add(['GET'], '/v1/agent/service/', async ctx => {
    const read = () => {
      const s = own()?.services.get(ctx.param);
      if (!s) throw new HttpError(404, `unknown service ID: ${ctx.param}`);
      return { s, hash: createHash('sha256').update(serviceBody(s)).digest('hex').slice(0, 16) };
    };
    let cur = read();
    const want = ctx.query.get('hash');
    if (want && want === cur.hash) {
      const { waitMs } = blockingParams(ctx);
      ctx.enterBlocking();
      const deadline = deps.notifier.now() + waitMs + Math.random() * (waitMs / 16);
      const topics = [`node:${deps.nodeName.toLowerCase()}`, 'table:services'];
      while (cur.hash === want && !ctx.signal.aborted) {
        const left = deadline - deps.notifier.now();
        if (left <= 0) break;
        await deps.notifier.wait(topics, [], left, ctx.signal);
        cur = read();
      }
    }
    const body = wireAgentService(cur.s, dc);
    body.ContentHash = cur.hash;
    return { body, headers: { 'X-Consul-ContentHash': cur.hash } };
  });

  r.add(['GET'], '/v1/agent/checks', ctx => {
    const out: Record<string, unknown> = {};
    const st = own();
    // The agent's own checks only: serfHealth is the catalog's (written from gossip), not registered with the agent.
    if (st) for (const c of [...st.checks.values()].sort((a, b) => (a.CheckID < b.CheckID ? -1 : 1))) if (c.CheckID !== SERF_CHECK) out[c.CheckID] = wireCheck(c);
    return { body: applyFilterMap(ctx, out) };
  });

  r.add(['PUT'], '/v1/agent/service/register', async ctx => {
    requireRedis(deps);
    const def = decode(await ctx.json(), SERVICE_SCHEMA);
    const svc = buildService(def);
    const checks = buildServiceChecks(def, svc, deps.nodeName, scriptsAllowed(ctx, deps));
    const replace = ctx.has('replace-existing-checks') && ctx.query.get('replace-existing-checks') !== 'false';
    if (replace) deps.hooks.local?.forgetChecksOf(svc.ID, checks.map(c => c.check.CheckID));
    await agentRegister(deps, { nodeName: deps.nodeName, node: null, services: [svc], checks, replaceChecksFor: replace ? svc.ID : undefined });
    return {};
  });

  agentDeregisterRoute(r, deps, 'service');

  for (const [verb, status] of [['pass', 'passing'], ['warn', 'warning'], ['fail', 'critical']] as const) {
    r.add(writeMethods(deps), `/v1/agent/check/${verb}/`, async ctx => {
      requireRedis(deps);
      await setTtlStatus(deps, ctx.param, status, ctx.query.get('note') ?? '');
      return {};
    }, LEGACY_GET);
  }
}

/** Updates a TTL check (pass/warn/fail/update), re-arming its TTL. 404 unknown, 500 not TTL. */
export async function setTtlStatus(deps: ApiDeps, id: string, status: HealthStatus, output: string): Promise<void> {
  const chk = deps.view.node(deps.nodeName)?.checks.get(id);
  const ttlMs = chk?.Definition.TTL ? parseDurationNs(chk.Definition.TTL) / 1e6 : 1;
  const res = await deps.store.updateCheck(deps.nodeName, id, status, output, { ttlMs, outputIntervalMs: deps.config.checkUpdateIntervalMs });
  if (res.result === 'unknown') throw new HttpError(404, `Unknown check ID "${id}". Ensure that the check ID is passed, not the check name.`);
  if (res.result === 'not-ttl') throw new HttpError(500, `CheckID "${id}" does not have associated TTL`);
  await afterWrite(deps, res.index, res.result === 'written');
}

/** PUT /v1/agent/{service,check}/deregister/:id — removes one of this agent's services or checks. */
export function agentDeregisterRoute(r: Router, deps: ApiDeps, kind: 'service' | 'check'): void {
  r.add(writeMethods(deps), `/v1/agent/${kind}/deregister/`, async ctx => {
    requireRedis(deps);
    const id = ctx.param;
    // Out of the local state first, so anti-entropy does not put it back while the catalog write is under way.
    deps.hooks.local?.forget(kind, id);
    const res = await deps.store.deregister(deps.nodeName, kind, id);
    if (!res.found) throw new HttpError(404, `Unknown ${kind} ID "${id}". Ensure that the ${kind} ID is passed, not the ${kind} name.`);
    await afterWrite(deps, res.index, true);
    return {};
  }, LEGACY_GET);
}
