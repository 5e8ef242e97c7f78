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

/** Precomputes the suffixes so parseRoute does no allocation per option. */
export function compileRouteOptions(o: RouteOptions = {}): { suffixes: string[]; pathRouting: boolean } {
  const domain = (o.domain ?? 'consul').replace(/^\.|\.$/g, '').toLowerCase();
  const suffixes = [`.service.${domain}`];
  for (const s of o.suffixes ?? []) if (s) suffixes.push(`.${s.replace(/^\.|\.$/g, '').toLowerCase()}`);
  return { suffixes, pathRouting: o.pathRouting !== false };
}

/** The route of a request, or null when neither the Host nor the path names a service. */
export function parseRoute(host: string | undefined, url: string, o: { suffixes: string[]; pathRouting: boolean }): Route | null {
  const h = hostname(host);
  for (const s of o.suffixes) {
    if (h.length > s.length && h.endsWith(s)) {
      const r = fromLabels(h.slice(0, -s.length));
      if (r) return { ...r, path: url || '/', by: 'host' };
    }
  }
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
  const r = fromLabels(service.toLowerCase());
  if (!r) return null;
  let rest = url.slice(end);
  if (rest === '' || rest.startsWith('?')) rest = `/${rest}`;
  return { ...r, path: rest, by: 'path' };
}
