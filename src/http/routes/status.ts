/** @module /v1/status/*: Redis is the leader; the agent reports its server address while Redis is reachable. */
import type { Router } from '../server.ts';
import type { ApiDeps } from '../context.ts';

export function statusRoutes(r: Router, deps: ApiDeps): void {
  const addr = () => `${deps.config.advertiseAddr}:${deps.config.ports.server}`;
  r.add(['GET'], '/v1/status/leader', () => ({ body: deps.redis.status === 'ready' ? addr() : '' }));
  r.add(['GET'], '/v1/status/peers', () => ({ body: deps.redis.status === 'ready' ? [addr()] : [] }));
}
