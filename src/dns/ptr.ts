/**
 * @module Reverse lookups (Consul's handlePtr): the first node, by name, whose address is the
 * asked one; else the first service instance, by node and service ID, whose service address is
 * (compared in canonical text form, as Consul does). The index is built lazily per view and
 * dropped on every catalog change.
 */
import type { CatalogView } from '../catalog/view.ts';
import type { Ctx } from './records.ts';
import { fqdn, formatIP, ipFromArpa, lowerName, parseIP, reverseName } from './wire.ts';

/** A reverse name's candidates in Consul's order (nodes by name, then instances by node and ID). */
interface PtrEntry { target: string; node: string; service?: string }
interface PtrIndex { rev: number; byArpa: Map<string, PtrEntry[]> }
const ptrIndexes = new WeakMap<CatalogView, { idx: PtrIndex | null; domain: string }>();

/** Drops the reverse index of a view (on any catalog change). */
export function invalidatePtr(view: CatalogView): void {
  ptrIndexes.delete(view);
}

function ptrIndex(ctx: Ctx): Map<string, PtrEntry[]> {
  const { view, rt } = ctx;
  const cached = ptrIndexes.get(view);
  if (cached?.idx && cached.domain === rt.domain + rt.dcName) return cached.idx.byArpa;
  const byArpa = new Map<string, PtrEntry[]>();
  const add = (k: string, e: PtrEntry) => { const l = byArpa.get(k); if (l) l.push(e); else byArpa.set(k, [e]); };
  const nodes = [...view.nodes()].sort((a, b) => cmp(a.node.Node.toLowerCase(), b.node.Node.toLowerCase()));
  for (const st of nodes) {
    const ip = parseIP(st.node.Address ?? '');
    if (!ip) continue;
    const k = reverseName(ip);
    add(k, { target: `${st.node.Node}.node.${st.node.Datacenter || rt.dcName}.${rt.domain}`, node: st.node.Node });
  }
  for (const st of nodes) {
    const ids = [...st.services.values()].sort((a, b) => cmp(a.ID, b.ID));
    for (const s of ids) {
      if (!s.Address) continue;
      const ip = parseIP(s.Address);
      if (!ip || formatIP(ip) !== s.Address) continue; // Consul matches the canonical text form
      add('svc:' + reverseName(ip), { target: `${s.Service}.service.${st.node.Datacenter || rt.dcName}.${rt.domain}`, node: st.node.Node, service: s.Service });
    }
  }
  ptrIndexes.set(view, { idx: { rev: view.appliedIndex, byArpa }, domain: rt.domain + rt.dcName });
  return byArpa;
}

function cmp(a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0; }

/**
 * The PTR target for a reverse name: first node by name, else first instance by service address.
 * With ACLs, only what the DNS token may read counts (node read; for an instance also service read),
 * as Consul's catalog reads behind handlePtr are filtered.
 */
export function ptrTarget(ctx: Ctx, qname: string): string | null {
  ctx.deps.add('*');
  const l = lowerName(fqdn(qname));
  const idx = ptrIndex(ctx);
  const acl = ctx.rt.acl;
  const first = (list: PtrEntry[] | undefined): string | null => {
    if (!list) return null;
    if (!acl) return list[0]!.target;
    for (const e of list) if (acl.allow('node', e.node, 'read') && (!e.service || acl.allow('service', e.service, 'read'))) return e.target;
    return null;
  };
  const n = first(idx.get(l));
  if (n) return n;
  if (!ipFromArpa(l)) return null;
  return first(idx.get('svc:' + l));
}
