/**
 * @module `?filter=` for any list endpoint: compiles the expression (cached) and filters the
 * wire objects. A bad expression is a 500, as in Consul; one nested too deep is a 400.
 */
import { HttpError, type Ctx } from '../server.ts';
import { compileFilter, FilterDepthError, FilterError, type Filter } from '../../filter/bexpr.ts';

const cache = new Map<string, Filter>();

/** The compiled `?filter=` of a request, or null when there is none. Throws 500 on a bad expression. */
export function requestFilter(ctx: Ctx): Filter | null {
  const src = ctx.query.get('filter');
  if (src === null || src.trim() === '') return null;
  let f = cache.get(src);
  if (!f) {
    try {
      f = compileFilter(src);
    } catch (err) {
      if (err instanceof FilterDepthError) throw new HttpError(400, `Failed to create boolean expression evaluator: ${err.message}`);
      if (err instanceof FilterError) throw new HttpError(500, `Failed to create boolean expression evaluator: ${err.message}`);
      throw err;
    }
    if (cache.size > 500) cache.clear();
    if (src.length <= 4096) cache.set(src, f);
  }
  return f;
}

/**
 * Filters items by `?filter=`. `fields` maps an item to the object the expression sees (its
 * Consul wire shape); by default the item itself.
 */
export function applyFilter<T>(ctx: Ctx, items: T[], fields: (item: T) => unknown = x => x): T[] {
  const f = requestFilter(ctx);
  return f ? items.filter(i => f(fields(i))) : items;
}

/** Filters the values of a map (agent/services, agent/checks), keeping keys. */
export function applyFilterMap(ctx: Ctx, m: Record<string, unknown>): Record<string, unknown> {
  const f = requestFilter(ctx);
  if (!f) return m;
  return Object.fromEntries(Object.entries(m).filter(([, v]) => f(v)));
}
