/**
 * @module Reverse lookups (Consul's handlePtr): the first node, by name, whose address is the
 * asked one; else the first service instance, by node and service ID, whose service address is
 * (compared in canonical text form, as Consul does). The index is built lazily per view and
 * dropped on every catalog change.
 */
import type { CatalogView } from '../catalog/view.ts';
import type { Ctx } from './records.ts';
import { fqdn, formatIP, ipFromArpa, lowerName, parseIP, reverseName } from './wire.ts';

interface PtrIndex { rev: number; byArpa: Map<string, string> }
const ptrIndexes = new WeakMap<CatalogView, { idx: PtrIndex | null; domain: string }>();

/** Drops the reverse index of a view (on any catalog change). */
export function invalidatePtr(view: CatalogView): void {
  ptrIndexes.delete(view);
}

function ptrIndex(ctx: Ctx): Map<string, string> {
  const { view, rt } = ctx;
  const cached = ptrIndexes.get(view);
  if (cached?.idx && cached.domain === rt.domain + rt.dcName) return cached.idx.byArpa;
  const byArpa = new Map<string, string>();
  const nodes = [...view.nodes()].sort((a, b) => cmp(a.node.Node.toLowerCase(), b.node.Node.toLowerCase()));
  for (const st of nodes) {
    const ip = parseIP(st.node.Address ?? '');
    if (!ip) continue;
    const k = reverseName(ip);
    if (!byArpa.has(k)) byArpa.set(k, `${st.node.Node}.node.${st.node.Datacenter || rt.dcName}.${rt.domain}`);
  }
  const svc = new Map<string, string>();
  for (const st of nodes) {
    const ids = [...st.services.values()].sort((a, b) => cmp(a.ID, b.ID));
    for (const s of ids) if (s.Address && !svc.has(s.Address)) svc.set(s.Address, `${s.Service}.service.${st.node.Datacenter || rt.dcName}.${rt.domain}`);
  }
  for (const [addr, target] of svc) {
    const ip = parseIP(addr);
    if (!ip || formatIP(ip) !== addr) continue; // Consul matches the canonical text form
    const k = reverseName(ip);
    if (!byArpa.has('svc:' + k)) byArpa.set('svc:' + k, target);
  }
  ptrIndexes.set(view, { idx: { rev: view.appliedIndex, byArpa }, domain: rt.domain + rt.dcName });
  return byArpa;
}

function cmp(a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0; }

/** The PTR target for a reverse name: first node by name, else first instance by service address. */
export function ptrTarget(ctx: Ctx, qname: string): string | null {
  ctx.deps.add('*');
  const l = lowerName(fqdn(qname));
  const idx = ptrIndex(ctx);
  const n = idx.get(l);
  if (n) return n;
  if (!ipFromArpa(l)) return null;
  return idx.get('svc:' + l) ?? null;
}
