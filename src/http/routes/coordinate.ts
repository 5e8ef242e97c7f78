/**
 * @module /v1/coordinate/*: Roster computes no network coordinates itself. A coordinate a client
 * sends with PUT /v1/coordinate/update is kept (in Redis, shared by every agent) and read back;
 * every other node gets Consul's origin coordinate (so clients that read them, and `?near`, keep working).
 */
import { HttpError, type Router } from '../server.ts';
import { decode } from '../decode.ts';
import { blocking } from '../blocking.ts';
import { checkDc, metaHeaders, readMode, requireRedis, type ApiDeps } from '../context.ts';
import { sortedNodes } from './catalog.ts';

/** The coordinate Serf starts every node at. */
export const ORIGIN = () => ({ Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0.00001 });

/** Consul's coordinate dimensionality (serf's DefaultConfig). */
const DIMENSIONS = 8;

type Coord = { Vec: number[]; Error: number; Adjustment: number; Height: number };

export function coordinateRoutes(r: Router, deps: ApiDeps): void {
  const v = deps.view;
  const key = `${deps.store.keys.prefix}:coordinates`;
  /** Stored coordinates by lower-cased node name. */
  const stored = async (): Promise<Map<string, Coord>> => {
    const m = new Map<string, Coord>();
    if (deps.redis.status !== 'ready') return m;
    for (const [n, j] of Object.entries(await deps.redis.hgetall(key))) {
      try { m.set(n, JSON.parse(j) as Coord); } catch { /* skip a corrupt entry */ }
    }
    return m;
  };
  const entries = async () => {
    const coords = await stored();
    return sortedNodes(deps).map(st => ({ Node: st.node.Node, Segment: '', Coord: coords.get(st.node.Node.toLowerCase()) ?? ORIGIN() }));
  };
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
    const res = await blocking(ctx, deps.notifier, { topics: ['table:nodes'] }, async () => ({ index: v.tableIndex.nodes ?? 0, data: await entries() }));
    return { body: res.data, headers: metaHeaders(res.index, mode, v.freshness()) };
  });
  r.add(['GET'], '/v1/coordinate/node/', async ctx => {
    const mode = await readMode(ctx, deps);
    const res = await blocking(ctx, deps.notifier, { topics: ['table:nodes'] }, async () => ({ index: v.tableIndex.nodes ?? 0, data: (await entries()).filter(e => e.Node.toLowerCase() === ctx.param.toLowerCase()) }));
    if (res.data.length === 0) return { status: 404, body: '', headers: metaHeaders(res.index, mode, v.freshness()) };
    return { body: res.data, headers: metaHeaders(res.index, mode, v.freshness()) };
  });
  r.add(['PUT'], '/v1/coordinate/update', async ctx => {
    requireRedis(deps);
    const b = decode(await ctx.json(), { fields: { Node: 'string', Segment: 'string', Coord: 'any', Partition: 'string' } });
    const node = (b.Node as string) ?? '';
    const st = v.node(node);
    if (!st) throw new HttpError(500, 'Missing node registration');
    const c = decode(b.Coord, { fields: { Vec: 'any', Error: 'any', Adjustment: 'any', Height: 'any' } }, 'Coord');
    const num = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
    if (!Array.isArray(c.Vec) || c.Vec.length !== DIMENSIONS || !c.Vec.every(num)) throw new HttpError(400, 'Coordinate dimensionality does not match');
    for (const f of ['Error', 'Adjustment', 'Height']) if (c[f] !== undefined && !num(c[f])) throw new HttpError(400, `Invalid coordinate: ${f} must be a number`);
    const coord: Coord = { Vec: c.Vec as number[], Error: (c.Error as number) ?? 0, Adjustment: (c.Adjustment as number) ?? 0, Height: (c.Height as number) ?? 0 };
    await deps.redis.hset(key, st.node.Node.toLowerCase(), JSON.stringify(coord));
    deps.notifier.fire('table:nodes');
    return { body: true };
  });
}
