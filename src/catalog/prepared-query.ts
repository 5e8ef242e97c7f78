/**
 * @module Prepared queries (Consul's agent/consul/prepared_query): the stored shape, name
 * resolution (ID, exact name, longest template prefix), `name_prefix_match` templates and the
 * instance filter of an execution. Pure: no Redis, no network (store: src/store/query-store.ts,
 * HTTP and failover: src/http/routes/prepared-query.ts, DNS: src/dns/query-answers.ts).
 */
import { isVisible, type Instance } from './model.ts';

export interface QueryTarget { Peer: string; Datacenter: string }

export interface QueryService {
  Service: string;
  SamenessGroup: string;
  Failover: { NearestN: number; Datacenters: string[] | null; Targets: QueryTarget[] | null };
  OnlyPassing: boolean;
  IgnoreCheckIDs: string[] | null;
  Near: string;
  Tags: string[] | null;
  NodeMeta: Record<string, string> | null;
  ServiceMeta: Record<string, string> | null;
  Connect: boolean;
  Peer: string;
}

/** A PreparedQuery in Consul's field order (CreateIndex/ModifyIndex top-level: RaftIndex is embedded). */
export interface PreparedQuery {
  ID: string;
  Name: string;
  Session: string;
  Token: string;
  Template: { Type: string; Regexp: string; RemoveEmptyTags: boolean };
  Service: QueryService;
  DNS: { TTL: string };
  CreateIndex: number;
  ModifyIndex: number;
}

export const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export const isTemplate = (q: PreparedQuery): boolean => q.Template.Type !== '';

/** An error whose message is Consul's; `notFound` ones are HTTP 404 / DNS NXDOMAIN. */
export class QueryError extends Error {
  readonly notFound: boolean;
  constructor(message: string, notFound = false) {
    super(message);
    this.notFound = notFound;
  }
}

/**
 * Consul's PreparedQueryResolve: by ID (a template found by ID is an error), else exact name
 * (case-insensitive), else the template with the longest name that prefixes it (`""` matches all).
 * Templates come back rendered for the name looked up.
 */
export function resolveQuery(all: readonly PreparedQuery[], idOrName: string): PreparedQuery {
  if (!idOrName) throw new QueryError('Query not found', true);
  if (UUID_RE.test(idOrName)) {
    const q = all.find(x => x.ID.toLowerCase() === idOrName.toLowerCase());
    if (q) {
      if (isTemplate(q)) throw new QueryError('prepared query templates can only be resolved up by name, not by ID');
      return q;
    }
  }
  const lname = idOrName.toLowerCase();
  const exact = all.find(x => x.Name.toLowerCase() === lname);
  if (exact) return isTemplate(exact) ? renderTemplate(exact, idOrName) : exact;
  let best: PreparedQuery | null = null;
  for (const q of all) {
    if (!isTemplate(q) || !lname.startsWith(q.Name.toLowerCase())) continue;
    if (!best || q.Name.length > best.Name.length) best = q;
  }
  if (!best) throw new QueryError('Query not found', true);
  return renderTemplate(best, idOrName);
}

/** Compiles a template's Regexp (RE2 syntax; the common subset is JavaScript's). */
export function templateRegexp(q: PreparedQuery): RegExp | null {
  if (!q.Template.Regexp) return null;
  try {
    return new RegExp(q.Template.Regexp);
  } catch (err) {
    throw new QueryError(`failed compiling template: Bad Regexp: ${(err as Error).message}`);
  }
}

/** Checks a template as Consul's compile does: type, Regexp, and a test render with its own name. */
export function compileTemplate(q: PreparedQuery): void {
  if (!isTemplate(q)) return;
  if (q.Template.Type !== 'name_prefix_match') throw new QueryError(`failed compiling template: Bad Template.Type '${q.Template.Type}'`);
  templateRegexp(q);
  renderTemplate(q, q.Name);
}

/**
 * Renders every string inside `Service` (fields, slice elements, map values; not map keys) with
 * `${name.full}`, `${name.prefix}`, `${name.suffix}`, `${match(N)}` and `${agent.segment}`.
 */
export function renderTemplate(q: PreparedQuery, name: string): PreparedQuery {
  const re = templateRegexp(q);
  const m = re ? re.exec(name) : null;
  const vars = (expr: string, path: string, src: string): string => {
    const e = expr.trim();
    switch (e) {
      case 'name.full': return name;
      case 'name.prefix': return q.Name;
      case 'name.suffix': return name.slice(q.Name.length);
      case 'agent.segment': return '';
    }
    const mm = /^match\(\s*(\d+)\s*\)$/.exec(e);
    if (mm) return m?.[Number(mm[1])] ?? '';
    throw new QueryError(`failed compiling template: Bad format '${src}' in Service${path}: unknown variable accessed: ${e}`);
  };
  const str = (s: string, path: string): string => s.replace(/\$\{([^}]*)\}/g, (_, e: string) => vars(e, path, s));
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') return str(v, path);
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, `${path}.${k}`)]));
    return v;
  };
  const svc = walk(q.Service, '') as QueryService;
  if (q.Template.RemoveEmptyTags && svc.Tags) svc.Tags = svc.Tags.filter(t => t !== '');
  return { ...q, Service: svc };
}

/** Steps 3–5 of an execution: health (IgnoreCheckIDs, OnlyPassing), NodeMeta, ServiceMeta, Tags (`!tag` excludes; case-insensitive). */
export function queryFilter(s: QueryService): (i: Instance) => boolean {
  const ignore = new Set(s.IgnoreCheckIDs ?? []);
  const want: string[] = []; const not: string[] = [];
  for (const t of s.Tags ?? []) (t.startsWith('!') ? not : want).push(t.replace(/^!/, '').toLowerCase());
  return i => {
    const inst = ignore.size ? { ...i, checks: i.checks.filter(c => !ignore.has(c.CheckID)) } : i;
    if (!isVisible(inst, s.OnlyPassing)) return false;
    for (const [k, v] of Object.entries(s.NodeMeta ?? {})) if (i.node.Meta?.[k] !== v) return false;
    for (const [k, v] of Object.entries(s.ServiceMeta ?? {})) if (i.service.Meta?.[k] !== v) return false;
    if (want.length || not.length) {
      const tags = new Set((i.service.Tags ?? []).map(t => t.toLowerCase()));
      if (want.some(t => !tags.has(t)) || not.some(t => tags.has(t))) return false;
    }
    return true;
  };
}

/**
 * Consul's failover candidates: the first NearestN datacenters by distance (ours excluded), then
 * each of Failover.Datacenters that is known and not listed yet; or Targets' datacenters in order.
 */
export function failoverDcs(s: QueryService, local: string, byDistance: readonly string[]): string[] {
  const known = new Set(byDistance);
  if (s.Failover.Targets?.length) return s.Failover.Targets.map(t => t.Datacenter).filter(dc => dc && dc !== local && known.has(dc));
  const out = byDistance.filter(dc => dc !== local).slice(0, Math.max(0, s.Failover.NearestN));
  for (const dc of s.Failover.Datacenters ?? []) if (dc !== local && known.has(dc) && !out.includes(dc)) out.push(dc);
  return out;
}
