/**
 * @module Which datacenter a request is for, and what to do with it: answer here, forward it
 * (src/http/dc-forward.ts), or 500 `No path to datacenter`. The one rule every endpoint follows.
 */
import type { DcDirectory, DcServer } from '../catalog/datacenters.ts';
import { HttpError } from './errors.ts';

export const NO_PATH = 'No path to datacenter';

/** What the rule reads of the agent: its datacenter and the WAN pool's directory. */
export interface DcDeps { config: { datacenter: string }; hooks: { dcs?: DcDirectory } }

/** The datacenter a request names (`?datacenter` wins over `?dc`), or null for this one. */
export function requestDc(q: URLSearchParams): string | null {
  return q.get('datacenter') || q.get('dc') || null;
}

export type DcDecision = { kind: 'local' } | { kind: 'forward'; dc: string; servers: DcServer[] } | { kind: 'no-path' };

/** Local, forward (to these servers, best first) or No path: the one rule every endpoint follows. */
export function decideDc(deps: DcDeps, dc: string | null, forwardedFrom?: string): DcDecision {
  if (!dc || dc === deps.config.datacenter) return { kind: 'local' };
  const dir = deps.hooks.dcs;
  if (!dir || forwardedFrom) return { kind: 'no-path' };
  const servers = dir.servers(dc);
  return servers.length ? { kind: 'forward', dc, servers } : { kind: 'no-path' };
}

/** Throws 500 `No path to datacenter` unless the request is for this datacenter (endpoints that do not forward). */
export function requireLocalDc(deps: DcDeps, q: URLSearchParams): void {
  if (decideDc(deps, requestDc(q)).kind !== 'local') throw new HttpError(500, NO_PATH);
}
