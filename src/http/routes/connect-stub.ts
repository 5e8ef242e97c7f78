/**
 * @module /v1/catalog/connect/:service and /v1/health/connect/:service: Roster has no service
 * mesh, so these answer `[]` with the usual meta headers (clients that probe them keep working).
 */
import type { Router } from '../server.ts';
import { blocking } from '../blocking.ts';
import { metaHeaders, readMode, type ApiDeps } from '../context.ts';

export function connectStubRoutes(r: Router, deps: ApiDeps): void {
  for (const p of ['/v1/catalog/connect/', '/v1/health/connect/', '/v1/health/ingress/']) {
    r.add(['GET'], p, async ctx => {
      const mode = await readMode(ctx, deps);
      const name = ctx.param.toLowerCase();
      const v = deps.view;
      const res = await blocking(ctx, deps.notifier, { topics: [`svc:${name}`] }, () => ({
        index: v.serviceIndex.get(name) ?? Math.max(v.tableIndex.services ?? 0, v.tableIndex.nodes ?? 0), data: [] as unknown[],
      }));
      return { body: res.data, headers: metaHeaders(res.index, mode, v.freshness()) };
    });
  }
}
