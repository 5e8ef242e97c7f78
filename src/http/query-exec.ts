/**
 * @module Executing prepared queries (Consul's PreparedQuery.Execute / ExecuteRemote) for the HTTP
 * API and for DNS, and the in-memory copy of the datacenter's queries that DNS reads (it never
 * waits on Redis: the copy is re-read when the queries' revision moves, polled every POLL_MS and
 * right after this agent's own writes).
 *
 * Local steps: instances of Service.Service from the view, query filter (health with
 * IgnoreCheckIDs/OnlyPassing, NodeMeta, ServiceMeta, Tags), shuffle, `near` node first, limit.
 * With no instance left, failover: each candidate datacenter (failoverDcs) in order is asked to run
 * the rendered query itself (POST /v1/roster/query-execute there, no further failover), all within
 * one deadline (dc_forward_timeout); the first that has instances answers. `Failovers` counts the
 * datacenters tried.
 */
import { failoverDcs, queryFilter, resolveQuery, type PreparedQuery } from '../catalog/prepared-query.ts';
import type { Instance } from '../catalog/model.ts';
import { wireCheck, wireNode, wireNodeService } from '../consul/convert.ts';
import type { QueryStore } from '../store/query-store.ts';
import type { ApiDeps } from './context.ts';
import { forwardToDc } from './dc-forward.ts';
import { logger } from '../log.ts';

const log = logger('agent.query');
const POLL_MS = 1000;

/** Wire shape of one result (a /v1/health/service entry). */
export interface WireEntry { Node: Record<string, unknown>; Service: Record<string, unknown>; Checks: Record<string, unknown>[] }

/** The execute response (PreparedQueryExecuteResponse's first keys). */
export interface ExecResult { Service: string; Nodes: WireEntry[]; DNS: { TTL: string }; Datacenter: string; Failovers: number }

export interface ExecOpts {
  /** ?limit (0 = all). */
  limit: number;
  /** ?near, else the query's Service.Near: `_agent`, a node name, or `_ip` with `clientIp`. */
  near: string;
  clientIp?: string;
  /** Run failover when nothing is local (false on the remote side of a failover). */
  failover: boolean;
  /** Deadline of the whole failover (default dc_forward_timeout). */
  budgetMs?: number;
}

function shuffle<X>(a: X[]): X[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export const wireEntry = (i: Instance): WireEntry => ({ Node: wireNode(i.node), Service: wireNodeService(i.service), Checks: i.checks.map(wireCheck) });

/** Steps 2–9 in this datacenter: the matching instances, near node first, limited. */
export function localInstances(deps: Pick<ApiDeps, 'view' | 'nodeName'>, q: PreparedQuery, o: Pick<ExecOpts, 'limit' | 'near' | 'clientIp'>): Instance[] {
  const keep = queryFilter(q.Service);
  const insts = shuffle(deps.view.instances(q.Service.Service).filter(keep) as Instance[]);
  const near = o.near || q.Service.Near;
  const nearNode = near === '_agent' ? deps.nodeName : near === '_ip' ? insts.find(i => i.node.Address === o.clientIp)?.node.Node : near;
  if (nearNode) {
    const at = insts.slice(0, 10).findIndex(i => i.node.Node.toLowerCase() === nearNode.toLowerCase());
    if (at > 0) insts.unshift(...insts.splice(at, 1));
  }
  return o.limit > 0 ? insts.slice(0, o.limit) : insts;
}

/** Executes a (resolved, rendered) query: here, else by failover. */
export async function executeQuery(deps: ApiDeps, q: PreparedQuery, o: ExecOpts): Promise<ExecResult> {
  const local = deps.config.datacenter;
  const nodes = localInstances(deps, q, o).map(wireEntry);
  const res: ExecResult = { Service: q.Service.Service, Nodes: nodes, DNS: q.DNS, Datacenter: local, Failovers: 0 };
  if (nodes.length || !o.failover || !deps.hooks.dcs) return res;
  const dcs = failoverDcs(q.Service, local, deps.hooks.dcs.datacenters());
  const deadline = Date.now() + (o.budgetMs ?? deps.config.dcForwardTimeoutMs);
  const body = Buffer.from(JSON.stringify({ Query: q, Limit: o.limit }));
  for (const dc of dcs) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    res.Failovers++;
    try {
      const r = await forwardToDc(deps, dc, { method: 'POST', url: '/v1/roster/query-execute', headers: { 'content-type': 'application/json' }, body }, left);
      if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 200)}`);
      const remote = JSON.parse(r.body.toString('utf8')) as ExecResult;
      if (remote.Nodes?.length) return { ...res, Nodes: remote.Nodes, Datacenter: dc };
    } catch (err) {
      log.debug('Failed querying for service in datacenter', { service: q.Service.Service, dc, err: (err as Error).message });
    }
  }
  return res;
}

/** The datacenter's queries as last read from Redis (DNS resolves and executes from it). */
export class QueryCatalog {
  #queries: PreparedQuery[] = [];
  #rev = -1;
  #timer: NodeJS.Timeout | undefined;
  #store: QueryStore;
  #reading: Promise<void> | null = null;

  constructor(store: QueryStore) {
    this.#store = store;
  }

  start(): void {
    this.#timer = setInterval(() => void this.refresh(), POLL_MS);
    this.#timer.unref();
    void this.refresh();
  }

  stop(): void { clearInterval(this.#timer); }

  /** Re-reads the queries when their revision moved (errors keep the last copy). */
  refresh(): Promise<void> {
    this.#reading ??= (async () => {
      try {
        const rev = await this.#store.revision();
        if (rev !== this.#rev) {
          const { queries, index } = await this.#store.list();
          this.#queries = queries; this.#rev = index;
        }
        await this.#sweepSessions();
      } catch (err) {
        log.debug('cannot read prepared queries; keeping the last copy', { err: (err as Error).message });
      } finally { this.#reading = null; }
    })();
    return this.#reading;
  }

  /**
   * Consul deletes a session-bound query when its session is invalidated or destroyed: every agent checks its
   * copy each poll and deletes what lost its session (the delete is idempotent; a lost race is ignored).
   */
  async #sweepSessions(): Promise<void> {
    const bound = this.#queries.filter(q => q.Session);
    if (bound.length === 0) return;
    const alive = await this.#store.sessionsExist(bound.map(q => q.Session));
    for (const [i, q] of bound.entries()) {
      if (alive[i]) continue;
      await this.#store.delete(q.ID).then(() => log.info('prepared query deleted with its session', { query: q.ID, session: q.Session }), () => {});
    }
  }

  /** Resolve by ID, name or template prefix (throws QueryError). */
  resolve(idOrName: string): PreparedQuery {
    return resolveQuery(this.#queries, idOrName);
  }
}
