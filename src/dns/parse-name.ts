/**
 * @module Consul's query-name grammar (agent/dns.go dispatch + dns_ce.go parseLocality).
 *
 * Input: the lower-cased question name with the domain already stripped, as labels. The scan
 * runs from the rightmost label for the first keyword; for SRV a label starting with `_` makes
 * it an RFC 2782 service name (the `service` label is optional there).
 */

export type ParsedName =
  | { kind: 'invalid' }
  | { kind: 'service' | 'connect' | 'ingress'; service: string; tag: string; dc: string | null; peer: string }
  | { kind: 'node'; node: string; dc: string | null; peer: string }
  | { kind: 'query'; query: string; dc: string | null }
  | { kind: 'addr'; hex: string }
  | { kind: 'virtual'; service: string; peer: string };

const KEYWORDS = new Set(['service', 'connect', 'virtual', 'ingress', 'node', 'query', 'addr']);
const INVALID: ParsedName = { kind: 'invalid' };

/** Locality suffix (CE): 0 labels local; 1 label DC (or peer for virtual); 2/4 labels `<x>.dc` / `<x>.peer` pairs. */
export interface Locality { datacenter: string; peer: string; peerOrDatacenter: string }

export function parseLocality(labels: readonly string[]): Locality | null {
  switch (labels.length) {
    case 0: return { datacenter: '', peer: '', peerOrDatacenter: '' };
    case 1: return { datacenter: '', peer: '', peerOrDatacenter: labels[0]! };
    case 2: case 4: {
      const l: Locality = { datacenter: '', peer: '', peerOrDatacenter: '' };
      for (let i = 0; i < labels.length; i += 2) {
        if (labels[i + 1] === 'dc') l.datacenter = labels[i]!;
        else if (labels[i + 1] === 'peer') l.peer = labels[i]!;
        else return null;
      }
      if (l.datacenter && l.peer) return null;
      return l;
    }
    default: return null;
  }
}

/** The datacenter a locality names, or null for "the local one" (Consul's effectiveDatacenter). */
function effectiveDc(l: Locality): string | null {
  return l.datacenter || l.peerOrDatacenter || null;
}

/** Parses the labels left of the domain. `isSrv` enables the RFC 2782 `_svc._tag` form. */
export function parseName(labels: readonly string[], isSrv: boolean): ParsedName {
  let kind = ''; let parts: readonly string[] = []; let suffixes: readonly string[] = [];
  for (let i = labels.length - 1; i >= 0; i--) {
    const l = labels[i]!;
    if (KEYWORDS.has(l)) { kind = l; parts = labels.slice(0, i); suffixes = labels.slice(i + 1); break; }
    if (isSrv && l.startsWith('_')) { kind = 'service'; parts = labels.slice(0, i + 1); suffixes = labels.slice(i + 1); break; }
  }
  const n = parts.length;
  switch (kind) {
    case 'service': {
      if (n < 1) return INVALID;
      const loc = parseLocality(suffixes);
      if (!loc) return INVALID;
      const peer = loc.peer;
      const dc = peer ? null : effectiveDc(loc);
      if (n === 2 && parts[0]!.startsWith('_') && parts[1]!.startsWith('_')) {
        const tag = parts[1]!.slice(1);
        return { kind: 'service', service: parts[0]!.slice(1), tag: tag === 'tcp' ? '' : tag, dc, peer };
      }
      return { kind: 'service', service: parts[n - 1]!, tag: n >= 2 ? parts.slice(0, n - 1).join('.') : '', dc, peer };
    }
    case 'connect': case 'ingress': {
      if (n < 1) return INVALID;
      const loc = parseLocality(suffixes);
      if (!loc) return INVALID;
      return { kind, service: parts[n - 1]!, tag: '', dc: effectiveDc(loc), peer: '' };
    }
    case 'virtual': {
      if (n < 1) return INVALID;
      const loc = parseLocality(suffixes);
      if (!loc) return INVALID;
      return { kind: 'virtual', service: parts[n - 1]!, peer: loc.peer || loc.peerOrDatacenter };
    }
    case 'node': {
      if (n < 1) return INVALID;
      const loc = parseLocality(suffixes);
      if (!loc) return INVALID;
      return { kind: 'node', node: parts.join('.'), dc: loc.peer ? null : effectiveDc(loc), peer: loc.peer };
    }
    case 'query': {
      if (n < 1 || suffixes.length > 1) return INVALID;
      const q = n >= 2 && parts[0]!.startsWith('_') && parts[n - 1]!.startsWith('_') ? parts.slice(0, n - 1).join('.').slice(1) : parts.join('.');
      return { kind: 'query', query: q, dc: suffixes[0] ?? null };
    }
    case 'addr':
      if (n !== 1) return INVALID;
      return { kind: 'addr', hex: parts[0]! };
    default:
      return INVALID;
  }
}

/** Splits presentation text into labels on unescaped dots (miekg's SplitDomainName). */
export function splitLabels(name: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c === '\\') { cur += name.slice(i, i + 2); i++; continue; }
    if (c === '.') { if (cur) out.push(cur); cur = ''; continue; }
    cur += c;
  }
  if (cur) out.push(cur);
  return out;
}
