/**
 * @module The HTTP API as the agent sees it: a Router holding every route module (routes/index.ts)
 * for one agent's ApiDeps. Nothing outside src/http imports a route.
 */
import { Router } from './server.ts';
import type { ApiDeps } from './context.ts';
import { registerRoutes } from './routes/index.ts';
import type { QueryCatalog } from './query-exec.ts';

/** A Router answering Consul's HTTP API from `deps`, and the prepared queries DNS executes. */
export function apiRouter(deps: ApiDeps): { router: Router; queries: QueryCatalog } {
  const router = new Router();
  const { queries } = registerRoutes(router, deps);
  return { router, queries };
}
