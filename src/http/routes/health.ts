/**
 * @module /v1/health/*: service entries, and checks by service, node and state (blocking, meta
 * headers, node-meta, dc), with Consul's filtering.
 */
import { HttpError, type Router } from '../server.ts';
import { blocking, sharedBlocking, topicList } from '../blocking.ts';
import { metaHeaders, parseBool, readMode, renderedReply, type ApiDeps } from '../context.ts';
import { wireCheck, wireNode, wireNodeService } from '../../consul/convert.ts';
import { isVisible, type CheckRec, type Instance } from '../../catalog/model.ts';
import { answerInstances } from '../../catalog/protection.ts';
import { wildcardLookup } from '../../util/wildcard.ts';
import { nodeMetaFilter, serviceInstances } from './catalog.ts';
import { applyFilter, requestFilter } from './filter-hook.ts';

/** The threshold lookup of the current dns_config (rebuilt when a reload replaces it). */
let lookupFor: { map: Record<string, number>; fn: (s: string) => number | undefined } | null = null;
function thresholds(map: Record<string, number>): (s: string) => number | undefined {
  if (lookupFor?.map !== map) lookupFor = { map, fn: wildcardLookup(map) };
  return lookupFor.fn;
}

export function healthRoutes(r: Router, deps: ApiDeps): void {
  const v = deps.view;
  r.add(['GET'], '/v1/health/service/', async ctx => {
    const mode = await readMode(ctx, deps);
    let passing = false;
    if (ctx.has('passing')) {
      const raw = ctx.query.get('passing')!;
      const b = raw === '' ? true : parseBool(raw);
      if (b === null) throw new HttpError(400, 'Invalid value for ?passing');
      passing = b;
    }
    const name = ctx.param;
    const filter = requestFilter(ctx);
    // ?passing with a protection threshold (dns_config.service_protection_threshold): all instances when too few pass.
    const keep = (all: Instance[]): Instance[] => (passing ? answerInstances(all, true, thresholds(deps.config.dns?.serviceProtectionThreshold ?? {})(name.toLowerCase()), name) : all);
    // Returned, not awaited: a parked watch holds a promise reaction here rather than this suspended frame.
    return sharedBlocking(ctx, deps.notifier, {
      topics: topicList(`svc:${name.toLowerCase()}`),
      index: () => v.serviceIndex.get(name.toLowerCase()) ?? Math.max(v.tableIndex.services ?? 0, v.tableIndex.nodes ?? 0),
      render: () => keep(serviceInstances(deps, name, ctx.query))
        .map(i => ({ Node: wireNode(i.node), Service: wireNodeService(i.service), Checks: i.checks.map(wireCheck) }))
        .filter(filter ?? (() => true)),
    }).then(res => renderedReply(res, mode, v.freshness(), ctx.has('cached')));
  });

  r.add(['GET'], '/v1/health/checks/', async ctx => {
    const mode = await readMode(ctx, deps);
    const name = ctx.param.toLowerCase();
    const meta = nodeMetaFilter(ctx.query);
    const res = await sharedBlocking(ctx, deps.notifier, {
      topics: [`svc:${name}`],
      index: () => v.serviceIndex.get(name) ?? Math.max(v.tableIndex.services ?? 0, v.tableIndex.nodes ?? 0),
      render: () => {
        const out: CheckRec[] = [];
        for (const inst of v.instances(name)) {
          if (!meta(inst)) continue;
          for (const c of inst.checks) if (c.ServiceID === inst.service.ID) out.push(c);
        }
        return applyFilter(ctx, out.sort(byNodeThenId).map(wireCheck));
      },
    });
    return renderedReply(res, mode, v.freshness());
  });

  r.add(['GET'], '/v1/health/node/', async ctx => {
    const mode = await readMode(ctx, deps);
    const node = ctx.param;
    const res = await blocking(ctx, deps.notifier, { topics: [`node:${node.toLowerCase()}`, 'table:checks'] }, () => {
      const st = v.node(node);
      return { index: v.tableIndex.checks ?? 0, data: st ? applyFilter(ctx, [...st.checks.values()].sort(byNodeThenId).map(wireCheck)) : [] };
    });
    return { body: res.data, headers: metaHeaders(res.index, mode, v.freshness()) };
  });

  r.add(['GET'], '/v1/health/state/', async ctx => {
    const mode = await readMode(ctx, deps);
    const state = ctx.param;
    if (state === '') throw new HttpError(400, 'Missing check state');
    const meta = nodeMetaFilter(ctx.query);
    const res = await blocking(ctx, deps.notifier, { topics: ['table:checks'] }, () => {
      const out: CheckRec[] = [];
      for (const st of v.nodes()) {
        if (!meta(st)) continue;
        for (const c of st.checks.values()) if (state === 'any' || c.Status === state) out.push(c);
      }
      return { index: v.tableIndex.checks ?? 0, data: applyFilter(ctx, out.sort(byNodeThenId).map(wireCheck)) };
    });
    return { body: res.data, headers: metaHeaders(res.index, mode, v.freshness()) };
  });
}

/** Checks sorted as Consul's state store returns them: by node, then check ID. */
function byNodeThenId(a: CheckRec, b: CheckRec): number {
  const an = a.Node.toLowerCase(), bn = b.Node.toLowerCase();
  return an < bn ? -1 : an > bn ? 1 : a.CheckID < b.CheckID ? -1 : a.CheckID > b.CheckID ? 1 : 0;
}
