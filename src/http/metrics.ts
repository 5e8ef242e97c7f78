/**
 * @module What the HTTP layer records besides `consul.api.http`, by route, in one place (the routes
 * stay free of metrics code): Consul's server-side timers of writes (`consul.catalog.register`,
 * `consul.kvs.apply`, `consul.session.apply`, `consul.txn.apply`, ...) and the per-service query
 * counters of catalog and health reads (`consul.catalog.service.query{service}`, `.not-found`).
 */
import { M, type Family } from '../util/metrics/index.ts';

/** `METHOD route-label` → the timer of the operation (an agent registration is a catalog register in Consul too). */
const WRITES: Record<string, Family> = {
  'PUT v1_catalog_register': M.catalogRegister,
  'PUT v1_catalog_deregister': M.catalogDeregister,
  'PUT v1_agent_service_register': M.catalogRegister,
  'PUT v1_agent_check_register': M.catalogRegister,
  'PUT v1_agent_service_deregister_': M.catalogDeregister,
  'PUT v1_agent_check_deregister_': M.catalogDeregister,
  'PUT v1_kv_': M.kvsApply,
  'DELETE v1_kv_': M.kvsApply,
  'PUT v1_session_create': M.sessionApply,
  'PUT v1_session_destroy_': M.sessionApply,
  'PUT v1_session_renew_': M.sessionRenew,
  'PUT v1_txn': M.txnApply,
};

const QUERIES: Record<string, [Family, Family]> = {
  v1_catalog_service_: [M.catalogServiceQuery, M.catalogServiceNotFound],
  v1_health_service_: [M.healthServiceQuery, M.healthServiceNotFound],
};

/** True for an empty JSON array answer, as a value or already rendered. */
function empty(body: unknown): boolean {
  if (Array.isArray(body)) return body.length === 0;
  if (typeof body === 'string') return body === '[]';
  if (Buffer.isBuffer(body)) return body.length === 2 && body[0] === 0x5b && body[1] === 0x5d;
  return false;
}

/** Records one answered request of a route (`ms` = time to answer). */
export function recordRoute(method: string, label: string, param: string, status: number, body: unknown, ms: number): void {
  const w = WRITES[`${method} ${label}`];
  if (w) { w.with().observe(ms); return; }
  const q = method === 'GET' && status === 200 ? QUERIES[label] : undefined;
  if (q && param) {
    q[0].with(param).inc();
    if (empty(body)) q[1].with(param).inc();
  }
}
