/** @module /v1/health/*: service entries and checks with Consul's filtering. */
import { HttpError, type Router } from '../server.ts';
import { sharedBlocking } from '../blocking.ts';
import { parseBool, readMode, renderedReply, type ApiDeps } from '../context.ts';
import { wireCheck, wireNode, wireNodeService } from '../../consul/convert.ts';
import type { Instance } from '../../catalog/model.ts';
import { answerInstances } from '../../catalog/protection.ts';
import { wildcardLookup } from '../../util/wildcard.ts';
import { serviceInstances } from './catalog.ts';
import { requestFilter } from './filter-hook.ts';

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
    const keep = (all: Instance[]): Instance[] => (passing ? answerInstances(all, true, thresholds(deps.config.dns.serviceProtectionThreshold)(name.toLowerCase()), name) : all);
    const res = await sharedBlocking(ctx, deps.notifier, {
      topics: [`svc:${name.toLowerCase()}`],
      index: () => v.serviceIndex.get(name.toLowerCase()) ?? Math.max(v.tableIndex.services ?? 0, v.tableIndex.nodes ?? 0),
      render: () => keep(serviceInstances(deps, name, ctx.query))
        .map(i => ({ Node: wireNode(i.node), Service: wireNodeService(i.service), Checks: i.checks.map(wireCheck) }))
        .filter(filter ?? (() => true)),
    });
    return renderedReply(res, mode, v.freshness(), ctx.has('cached'));
  });
}
