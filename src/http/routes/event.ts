/**
 * @module /v1/event/fire/:name and /v1/event/list. The newest 256 user events live in Redis so
 * every agent lists the same events; gossip (serf user events) plugs in through
 * `hooks.fireEvent` to send, and src/kv/events.ts records what it receives.
 */
import { randomUUID } from 'node:crypto';
import { HttpError, type Router } from '../server.ts';
import { blockingParams } from '../blocking.ts';
import { checkDc, requireRedis, type ApiDeps } from '../context.ts';
import { EVENTS_TOPIC, KV_RESYNC_TOPIC } from '../../kv/services.ts';
import { recordUserEvent, type UserEvent } from '../../kv/events.ts';

export type { UserEvent };

const MAX_PAYLOAD = 512;

/** Consul's index of an event list: the two halves of the last event's UUID XORed (1 when empty). */
export function eventIndex(events: { ID: string }[]): bigint {
  const last = events[events.length - 1];
  if (!last) return 1n;
  const id = last.ID;
  const lower = BigInt('0x' + id.slice(0, 8) + id.slice(9, 13) + id.slice(14, 18));
  const upper = BigInt('0x' + id.slice(19, 23) + id.slice(24, 36));
  return lower ^ upper;
}

function regexOk(pattern: string, value: string): boolean {
  if (!pattern) return true;
  try { return new RegExp(pattern).test(value); } catch { return false; }
}

export function eventRoutes(r: Router, deps: ApiDeps): void {
  r.add(['PUT'], '/v1/event/fire/', async ctx => {
    checkDc(ctx, deps);
    requireRedis(deps);
    const name = ctx.param;
    if (!name) throw new HttpError(400, 'Missing name');
    const payload = await ctx.body({ max: MAX_PAYLOAD, message: n => `Payload too large: user event payload of ${n} bytes exceeds the ${MAX_PAYLOAD} byte limit` });
    const filters = { node: ctx.query.get('node') ?? '', service: ctx.query.get('service') ?? '', tag: ctx.query.get('tag') ?? '' };
    for (const f of [filters.node, filters.service, filters.tag]) {
      if (f) try { new RegExp(f); } catch (err) { throw new HttpError(400, `Invalid filter: ${(err as Error).message}`); }
    }
    if (filters.tag && !filters.service) throw new HttpError(400, 'Cannot provide tag filter without service filter');
    let ev: UserEvent = {
      ID: randomUUID(), Name: name, Payload: payload.length ? payload.toString('base64') : null, NodeFilter: filters.node, ServiceFilter: filters.service,
      TagFilter: filters.tag, Version: 1, LTime: 0,
    };
    if (deps.hooks.fireEvent) {
      const sent = (await deps.hooks.fireEvent(name, payload, filters)) as Partial<UserEvent> | undefined;
      if (sent && typeof sent === 'object') ev = { ...ev, ...(sent.ID ? { ID: sent.ID } : {}), ...(typeof sent.LTime === 'number' ? { LTime: sent.LTime } : {}) };
    }
    const stored = await recordUserEvent(deps, ev);
    return { body: { ...ev, LTime: stored?.LTime ?? ev.LTime } };
  });

  r.add(['GET'], '/v1/event/list', async ctx => {
    checkDc(ctx, deps);
    requireRedis(deps);
    const nameFilter = ctx.query.get('name') ?? '';
    const { waitMs } = blockingParams(ctx);
    const rawIdx = ctx.query.get('index') ?? '';
    const min = /^\d+$/.test(rawIdx) ? BigInt(rawIdx) : 0n;
    const own = () => deps.view.node(deps.nodeName);
    const run = async () => {
      const all = (await deps.kv.events.list()) as unknown as UserEvent[];
      const st = own();
      const services = st ? [...st.services.values()] : [];
      const list = all.filter(e => {
        if (nameFilter && e.Name !== nameFilter) return false;
        if (!regexOk(e.NodeFilter, deps.nodeName)) return false;
        if (e.ServiceFilter) {
          const svc = services.filter(s => regexOk(e.ServiceFilter, s.Service));
          if (!svc.length) return false;
          if (e.TagFilter && !svc.some(s => s.Tags.some(t => regexOk(e.TagFilter, t)))) return false;
        }
        return true;
      });
      return { list, index: eventIndex(list) };
    };
    let res = await run();
    if (min > 0) {
      if (res.index === min) ctx.enterBlocking();
      const deadline = Date.now() + waitMs + Math.random() * (waitMs / 16);
      while (res.index === min && !ctx.signal.aborted) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await deps.notifier.wait([EVENTS_TOPIC, KV_RESYNC_TOPIC], [], left, ctx.signal);
        res = await run();
      }
    }
    return { body: res.list, headers: { 'X-Consul-Index': res.index.toString() } };
  });
}
