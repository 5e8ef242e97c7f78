/**
 * @module The Node, Service, Check and Session operations of /v1/txn (Consul's api.TxnOp verbs:
 * set, cas, get, delete, delete-cas; Session: delete). Every operation is checked against the
 * catalog as it stands (and as earlier operations of the same transaction leave it); the
 * failures are reported together. Writes are applied, in order, only when no operation failed.
 *
 * Unlike Consul's single Raft entry, the catalog writes are applied one after another (each one an
 * atomic store script) after the checks: a concurrent catalog writer may slip between them.
 */
import { HttpError } from '../server.ts';
import { decode } from '../decode.ts';
import { catalogServiceRecord } from '../registration.ts';
import type { ApiDeps } from '../context.ts';
import { definition, HEALTH_CHECK, NODE_SERVICE } from './catalog-write.ts';
import { wireCheck, wireNode, wireNodeService } from '../../consul/convert.ts';
import type { CheckRec, HealthStatus, NodeRec } from '../../catalog/model.ts';
import type { CheckWrite } from '../../store/catalog-store.ts';

const NODE: { fields: Record<string, 'string' | 'any' | 'stringMap'>; lenient: true } = {
  fields: { ID: 'string', Node: 'string', Address: 'string', Datacenter: 'string', TaggedAddresses: 'stringMap', Meta: 'stringMap', CreateIndex: 'any', ModifyIndex: 'any' }, lenient: true,
};

type Kind = 'Node' | 'Service' | 'Check' | 'Session';
/** One parsed catalog operation: what to check, what to write, what to return. */
export interface CatalogOp { i: number; kind: Kind; verb: string; node: string; id: string; index: number; body: Record<string, unknown> }

const idx = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0);

/** Parses a Node/Service/Check/Session operation (op index `i`); 400 for a malformed one. */
export function parseCatalogOp(i: number, kind: Kind, raw: unknown): CatalogOp {
  const o = decode(raw, { fields: { Verb: 'string', Node: 'any', Service: 'any', Check: 'any', Session: 'any' }, lenient: true });
  const verb = (o.Verb as string) ?? '';
  if (kind === 'Node') {
    const n = decode(o.Node, NODE, 'Node');
    return { i, kind, verb, node: (n.Node as string) ?? '', id: '', index: idx(n.ModifyIndex), body: n };
  }
  if (kind === 'Service') {
    const s = decode(o.Service, { ...NODE_SERVICE, lenient: true }, 'Service');
    return { i, kind, verb, node: typeof o.Node === 'string' ? o.Node : '', id: (s.ID as string) || (s.Service as string) || '', index: idx(s.ModifyIndex), body: s };
  }
  if (kind === 'Check') {
    const c = decode(o.Check, { ...HEALTH_CHECK, lenient: true }, 'Check');
    return { i, kind, verb, node: (c.Node as string) ?? '', id: (c.CheckID as string) ?? '', index: idx(c.ModifyIndex), body: c };
  }
  const s = decode(o.Session, { fields: { ID: 'string', Node: 'string' }, lenient: true }, 'Session');
  return { i, kind, verb, node: (s.Node as string) ?? '', id: (s.ID as string) ?? '', index: 0, body: s };
}

const VERBS: Record<Kind, string[]> = { Node: ['set', 'cas', 'get', 'delete', 'delete-cas'], Service: ['set', 'cas', 'get', 'delete', 'delete-cas'], Check: ['set', 'cas', 'get', 'delete', 'delete-cas'], Session: ['delete'] };

/**
 * Checks every operation against the catalog (as earlier operations leave it); returns the
 * failures. `sessionExists` answers for Session operations.
 */
export async function checkCatalogOps(deps: ApiDeps, ops: CatalogOp[]): Promise<{ opIndex: number; what: string }[]> {
  const errors: { opIndex: number; what: string }[] = [];
  // What earlier operations did: nodes set or deleted, and "node/kind/id" records set or deleted.
  const nodes = new Map<string, boolean>();
  const recs = new Map<string, boolean>();
  const nodeExists = (n: string) => nodes.get(n.toLowerCase()) ?? !!deps.view.node(n);
  /** The record an operation names, as earlier operations leave it (ModifyIndex -1: written by this transaction). */
  const rec = (op: CatalogOp): { ModifyIndex: number } | null => {
    const nk = op.node.toLowerCase();
    if (op.kind === 'Node') return nodes.has(nk) ? (nodes.get(nk) ? { ModifyIndex: -1 } : null) : deps.view.node(op.node)?.node ?? null;
    if (nodes.get(nk) === false) return null;
    const k = `${nk}/${op.kind}/${op.id}`;
    if (recs.has(k)) return recs.get(k) ? { ModifyIndex: -1 } : null;
    const st = deps.view.node(op.node);
    return (op.kind === 'Service' ? st?.services.get(op.id) : st?.checks.get(op.id)) ?? null;
  };
  for (const op of ops) {
    const fail = (what: string) => errors.push({ opIndex: op.i, what });
    if (!VERBS[op.kind].includes(op.verb)) { fail(`unknown ${op.kind} verb "${op.verb}"`); continue; }
    if (op.kind === 'Session') {
      if (!(await deps.kv.sessions.get(op.id))) fail(`session "${op.id}" doesn't exist`);
      continue;
    }
    if (!op.node) { fail(op.kind === 'Node' ? 'Must provide node' : `Must provide node for ${op.kind.toLowerCase()} operation`); continue; }
    const what = op.kind === 'Node' ? `node "${op.node}"` : `${op.kind.toLowerCase()} "${op.id}" on node "${op.node}"`;
    const cur = rec(op);
    const k = `${op.node.toLowerCase()}/${op.kind}/${op.id}`;
    switch (op.verb) {
      case 'get':
        if (!cur) fail(`${what} doesn't exist`);
        break;
      case 'set':
      case 'cas':
        if (op.kind !== 'Node' && !nodeExists(op.node)) { fail(`Missing node registration for ${what}`); break; }
        if (op.kind === 'Node' && !op.body.Address) { fail('Must provide address'); break; }
        if (op.verb === 'cas' && (op.index === 0 ? !!cur : !cur || cur.ModifyIndex !== op.index)) { fail(`failed to set ${what}, index is stale`); break; }
        if (op.kind === 'Check' && op.body.ServiceID && !(recs.get(`${op.node.toLowerCase()}/Service/${op.body.ServiceID as string}`) ?? deps.view.node(op.node)?.services.has(op.body.ServiceID as string))) {
          fail(`Unknown service ID '${op.body.ServiceID as string}' for check ID '${op.id}'`); break;
        }
        if (op.kind === 'Node') nodes.set(op.node.toLowerCase(), true); else recs.set(k, true);
        break;
      default: // delete, delete-cas
        if (op.verb === 'delete-cas' && cur && cur.ModifyIndex !== op.index) { fail(`failed to delete ${what}, index is stale`); break; }
        if (op.kind === 'Node') nodes.set(op.node.toLowerCase(), false); else recs.set(k, false);
    }
  }
  return errors;
}

/** Applies the writes of checked operations, in order; returns the highest index written. */
export async function applyCatalogOps(deps: ApiDeps, ops: CatalogOp[]): Promise<number> {
  let index = 0;
  for (const op of ops) {
    if (op.verb === 'get') continue;
    if (op.kind === 'Session') { index = Math.max(index, await deps.kv.sessions.destroy(op.id)); continue; }
    if (op.verb.startsWith('delete')) {
      const kind = op.kind === 'Node' ? 'node' : op.kind === 'Service' ? 'service' : 'check';
      index = Math.max(index, (await deps.store.deregister(op.node, kind, op.id)).index);
      continue;
    }
    const b = op.body;
    if (op.kind === 'Node') {
      const node = { ID: (b.ID as string) ?? '', Node: op.node, Address: b.Address as string, Datacenter: deps.config.datacenter, TaggedAddresses: (b.TaggedAddresses as Record<string, string>) ?? {}, Meta: (b.Meta as Record<string, string>) ?? {} };
      index = Math.max(index, (await deps.store.register({ nodeName: op.node, node, services: [], checks: [] })).index);
    } else if (op.kind === 'Service') {
      const svc = catalogServiceRecord(b, op.id, (b.Service as string) || op.id);
      index = Math.max(index, (await deps.store.register({ nodeName: op.node, node: null, services: [svc], checks: [] })).index);
    } else {
      const sid = (b.ServiceID as string) ?? '';
      const svc = sid ? deps.view.node(op.node)?.services.get(sid) : undefined;
      const def = definition(b.Definition);
      const status = ((b.Status as string) || 'critical') as HealthStatus;
      if (!['passing', 'warning', 'critical'].includes(status)) throw new HttpError(500, `Invalid check status: '${status}'`);
      const w: CheckWrite = {
        check: {
          Node: op.node, CheckID: op.id, Name: (b.Name as string) || op.id, Notes: (b.Notes as string) ?? '', ServiceID: sid, ServiceName: svc?.Service ?? (b.ServiceName as string) ?? '',
          ServiceTags: svc?.Tags ?? [], Type: (b.Type as string) ?? '', Interval: def.Interval ?? '', Timeout: def.Timeout ?? '', ExposedPort: 0, Definition: def,
        },
        status, output: (b.Output as string) ?? '', keep: false, ttlMs: 0,
      };
      index = Math.max(index, (await deps.store.register({ nodeName: op.node, node: null, services: [], checks: [w] })).index);
    }
  }
  return index;
}

/** The result of an operation after the writes (the view caught up): Node, Service or Check as Consul returns it. */
export function catalogResult(deps: ApiDeps, op: CatalogOp): Record<string, unknown> | null {
  if (op.kind === 'Session' || op.verb.startsWith('delete')) return null;
  const st = deps.view.node(op.node);
  if (!st) return null;
  if (op.kind === 'Node') return { Node: wireNode(st.node as NodeRec) };
  if (op.kind === 'Service') { const s = st.services.get(op.id); return s ? { Service: wireNodeService(s) } : null; }
  const c = st.checks.get(op.id);
  return c ? { Check: wireCheck(c as CheckRec) } : null;
}
