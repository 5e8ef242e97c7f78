/**
 * @module Which service a request is for: by Host (`web.service.consul`, `v1.web.service.consul` =
 * tag v1, or `[tag.]web<suffix>`), else by the first path segment (`/web/x` → `/x`). Pure.
 */

export interface RouteOptions {
  /** DNS domain for Host routing. @defaultValue consul */
  domain?: string;
  /** Extra Host suffixes (e.g. `.internal`): `[tag.]name<suffix>`. */
  suffixes?: string[];
  /** Route by the first path segment when the Host does not name a service. @defaultValue true */
  pathRouting?: boolean;
}

export interface Route {
  service: string;
  tag?: string;
  /** The path (and query) to send upstream. */
  path: string;
  by: 'host' | 'path';
}

/** The host without port, lower-cased, without a trailing dot. */
export function hostname(host: string | undefined): string {
  if (!host) return '';
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const c = h.lastIndexOf(':');
  if (c >= 0) h = h.slice(0, c);
  return h.replace(/\.$/, '');
}

const LABEL = /^[a-z0-9_][a-z0-9_-]*$/i;

function fromLabels(prefix: string): { service: string; tag?: string } | null {
  const labels = prefix.split('.');
  if (labels.some(l => !LABEL.test(l))) return null;
  if (labels.length === 1) return { service: labels[0]! };
  if (labels.length === 2) return { service: labels[1]!, tag: labels[0]! };
  return null;
}

export interface CompiledRouteOptions {
  suffixes: string[];
  pathRouting: boolean;
  /** Host header → the service it names (null: none), so a busy router parses each Host once. */
  hosts: Map<string, { service: string; tag?: string } | null>;
}

const HOST_CACHE_MAX = 4096;

/** Precomputes the suffixes so parseRoute does no allocation per option. */
export function compileRouteOptions(o: RouteOptions = {}): CompiledRouteOptions {
  const domain = (o.domain ?? 'consul').replace(/^\.|\.$/g, '').toLowerCase();
  const suffixes = [`.service.${domain}`];
  for (const s of o.suffixes ?? []) if (s) suffixes.push(`.${s.replace(/^\.|\.$/g, '').toLowerCase()}`);
  return { suffixes, pathRouting: o.pathRouting !== false, hosts: new Map() };
}

function hostRoute(host: string | undefined, suffixes: string[]): { service: string; tag?: string } | null {
  const h = hostname(host);
  for (const s of suffixes) {
    if (h.length > s.length && h.endsWith(s)) {
      const r = fromLabels(h.slice(0, -s.length));
      if (r) return r;
    }
  }
  return null;
}

/** The route of a request, or null when neither the Host nor the path names a service. */
export function parseRoute(host: string | undefined, url: string, o: CompiledRouteOptions): Route | null {
  let r = host === undefined ? null : o.hosts.get(host);
  if (r === undefined) {
    if (o.hosts.size >= HOST_CACHE_MAX) o.hosts.clear();
    o.hosts.set(host!, r = hostRoute(host, o.suffixes));
  }
  if (r) return r.tag === undefined ? { service: r.service, path: url || '/', by: 'host' } : { service: r.service, tag: r.tag, path: url || '/', by: 'host' };
  if (!o.pathRouting || !url.startsWith('/')) return null;
  let end = url.length;
  for (let i = 1; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */) { end = i; break; }
  }
  const seg = url.slice(1, end);
  if (!seg) return null;
  let service = seg;
  try { service = decodeURIComponent(seg); } catch { return null; }
  const p = fromLabels(service.toLowerCase());
  if (!p) return null;
  let rest = url.slice(end);
  if (rest === '' || rest.startsWith('?')) rest = `/${rest}`;
  return { ...p, path: rest, by: 'path' };
}
