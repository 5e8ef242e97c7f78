/**
 * @module The HTTP API as the agent sees it: a Router holding every route module (routes/index.ts)
 * for one agent's ApiDeps. Nothing outside src/http imports a route.
 */
import { Router } from './server.ts';
import type { ApiDeps } from './context.ts';
import { registerRoutes } from './routes/index.ts';

/** A Router answering Consul's HTTP API from `deps`. */
export function apiRouter(deps: ApiDeps): Router {
  const router = new Router();
  registerRoutes(router, deps);
  return router;
}
