/**
 * @module /v1/coordinate/*: Roster computes no network coordinates; every node gets Consul's
 * origin coordinate (so clients that read them, and `?near`, keep working).
 */
import type { Router } from '../server.ts';
import { blocking } from '../blocking.ts';
import { checkDc, metaHeaders, readMode, type ApiDeps } from '../context.ts';
import { sortedNodes } from './catalog.ts';

/** The coordinate Serf starts every node at. */
export const ORIGIN = () => ({ Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0.00001 });

export function coordinateRoutes(r: Router, deps: ApiDeps): void {
  const v = deps.view;
  const entries = () => sortedNodes(deps).map(st => ({ Node: st.node.Node, Segment: '', Coord: ORIGIN() }));
  r.add(['GET'], '/v1/coordinate/datacenters', ctx => {
    checkDc(ctx, deps);
    const dir = deps.hooks.dcs;
    if (!dir) return { body: [{ Datacenter: deps.config.datacenter, AreaID: 'wan', Coordinates: sortedNodes(deps).map(st => ({ Node: `${st.node.Node}.${deps.config.datacenter}`, Coord: ORIGIN() })) }] };
    // The WAN pool's servers per datacenter, in datacenters' distance order (coordinates are the origin: no Vivaldi yet).
    const members = dir.membersByDc();
    return { body: dir.datacenters().map(dc => ({ Datacenter: dc, AreaID: 'wan', Coordinates: members.filter(m => m.dc === dc).map(m => ({ Node: m.name, Coord: ORIGIN() })).sort((a, b) => (a.Node < b.Node ? -1 : 1)) })) };
  });
  r.add(['GET'], '/v1/coordinate/nodes', async ctx => {
    const mode = await readMode(ctx, deps);
    const res = await blocking(ctx, deps.notifier, { topics: ['table:nodes'] }, () => ({ index: v.tableIndex.nodes ?? 0, data: entries() }));
    return { body: res.data, headers: metaHeaders(res.index, mode, v.freshness()) };
  });
  r.add(['GET'], '/v1/coordinate/node/', async ctx => {
    const mode = await readMode(ctx, deps);
    const res = await blocking(ctx, deps.notifier, { topics: ['table:nodes'] }, () => ({ index: v.tableIndex.nodes ?? 0, data: entries().filter(e => e.Node.toLowerCase() === ctx.param.toLowerCase()) }));
    if (res.data.length === 0) return { status: 404, body: '', headers: metaHeaders(res.index, mode, v.freshness()) };
    return { body: res.data, headers: metaHeaders(res.index, mode, v.freshness()) };
  });
  r.add(['PUT'], '/v1/coordinate/update', () => ({ body: true }));
}
