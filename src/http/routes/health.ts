/** @module /v1/health/*: service entries and checks with Consul's filtering. */
import { HttpError, type Router } from '../server.ts';
import { sharedBlocking, topicList } from '../blocking.ts';
import { parseBool, readMode, renderedReply, type ApiDeps } from '../context.ts';
import { wireCheck, wireNode, wireNodeService } from '../../consul/convert.ts';
import { isVisible } from '../../catalog/model.ts';
import { serviceInstances } from './catalog.ts';
import { requestFilter } from './filter-hook.ts';

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
    // Returned, not awaited: a parked watch holds a promise reaction here rather than this suspended frame.
    return sharedBlocking(ctx, deps.notifier, {
      topics: topicList(`svc:${name.toLowerCase()}`),
      index: () => v.serviceIndex.get(name.toLowerCase()) ?? Math.max(v.tableIndex.services ?? 0, v.tableIndex.nodes ?? 0),
      render: () => serviceInstances(deps, name, ctx.query)
        .filter(i => !passing || isVisible(i, true))
        .map(i => ({ Node: wireNode(i.node), Service: wireNodeService(i.service), Checks: i.checks.map(wireCheck) }))
        .filter(filter ?? (() => true)),
    }).then(res => renderedReply(res, mode, v.freshness()));
  });
}
